using System.Text;
using System.Text.Json.Nodes;
using Serverless.Relay.Relaying;
using Xunit;

namespace Serverless.Tests.Relaying;

/// <summary>
/// The passthrough's two edits made in the client's bytes: the result must mean what the former <c>JsonNode</c> round
/// trip meant (the oracle below), and every byte outside the edited values must be the client's own.
/// </summary>
public sealed class PassthroughBodyEditTests
{
    private const string Messages = """[{"role":"user","content":"h\u00e9llo 日本 \"q\" \ud83d\ude00"}]""";

    public static TheoryData<string> Bodies =>
    [
        $$$"""{"model":"gpt-4o","messages":{{{Messages}}},"stream":true,"temperature":1.0e2}""",
        $$$"""{"model":"gpt-4o","messages":{{{Messages}}},"stream":true,"stream_options":{"include_usage":false,"continuous_usage_stats":true}}""",
        $$$"""{"model":"gpt-4o","messages":{{{Messages}}},"stream_options":{},"stream":true}""",
        $$$"""{"model":"gpt-4o","messages":{{{Messages}}},"stream_options":null,"stream":true}""",
        $$$"""{"model":"gpt-4o","stream_options":{"other":[1,{"include_usage":false}]},"messages":{{{Messages}}}}""",
        $$$"""
          {
            "messages": {{{Messages}}},
            "stream" : true ,
            "model" : "gpt-4o"
          }
          """,
        $$$"""{"mod\u0065l":"gpt-4o","messages":{{{Messages}}}}""",
        $$$"""{"messages":{{{Messages}}},"stream":true}""",
        "{}",
        "{ }",
    ];

    [Theory]
    [MemberData(nameof(Bodies))]
    public void Apply_AnyBody_MeansWhatTheTreeEditMeant(string body)
    {
        foreach (var (model, usage) in new (string?, bool)[] { ("upstream-\u00fc\"x", false), (null, true), ("upstream-2", true), (null, false) })
        {
            var edited = PassthroughBodyEdit.Apply(Encoding.UTF8.GetBytes(body), model, usage);

            var actual = JsonNode.Parse(edited);
            Assert.True(JsonNode.DeepEquals(Expected(body, model, usage), actual), $"{model}/{usage}: {Encoding.UTF8.GetString(edited)}");
        }
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public void Apply_AnyBody_KeepsTheClientsBytesOutsideTheEdits(string body)
    {
        var edited = Encoding.UTF8.GetString(PassthroughBodyEdit.Apply(Encoding.UTF8.GetBytes(body), "upstream-2", includeUsage: true));

        if (body.Contains(Messages, StringComparison.Ordinal))
        {
            Assert.Contains(Messages, edited, StringComparison.Ordinal); // escapes, emoji pair and quotes as sent
        }

        if (body.Contains("1.0e2", StringComparison.Ordinal))
        {
            Assert.Contains("\"temperature\":1.0e2", edited, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("gpt-4o", edited, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_NothingToChange_ReturnsTheSameBytes()
    {
        var body = Encoding.UTF8.GetBytes($$$"""{"model":"m", "messages":{{{Messages}}}}""");

        Assert.Equal(body, PassthroughBodyEdit.Apply(body, null, includeUsage: false));
    }

    [Fact]
    public void Apply_BodyWithByteOrderMark_EditsAfterIt()
    {
        var body = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes($$$"""{"model":"m","messages":{{{Messages}}},"stream":true}""")).ToArray();

        var edited = PassthroughBodyEdit.Apply(body, "upstream-2", includeUsage: true);

        Assert.Equal(Encoding.UTF8.GetPreamble(), edited[..3]);
        Assert.True(JsonNode.DeepEquals(Expected(Encoding.UTF8.GetString(body.AsSpan(3)), "upstream-2", usage: true), JsonNode.Parse(edited.AsSpan(3))));
    }

    /// <summary>Input items left out wherever they are (first, inside, a run at the end, all), the rest as sent.</summary>
    [Theory]
    [InlineData(new[] { 0 }, "[1, {\"b\":[2]} ,\"c\"]")]
    [InlineData(new[] { 1, 2 }, "[\"a\", \"c\"]")]
    [InlineData(new[] { 3 }, "[\"a\", 1, {\"b\":[2]}]")]
    [InlineData(new[] { 2, 3 }, "[\"a\", 1]")]
    [InlineData(new[] { 0, 3 }, "[1, {\"b\":[2]}]")]
    [InlineData(new[] { 0, 1, 2, 3 }, "[]")]
    public void Apply_DropInput_CutsTheItemsAndTheirCommas(int[] drop, string expectedInput)
    {
        const string body = """{"model":"m","input":["a", 1, {"b":[2]} ,"c"],"tail":["x"]}""";

        var edited = PassthroughBodyEdit.Apply(Encoding.UTF8.GetBytes(body), model: null, includeUsage: false, drop);

        Assert.Equal("""{"model":"m","input":""" + expectedInput + ""","tail":["x"]}""", Encoding.UTF8.GetString(edited));
    }

    /// <summary>What the passthrough sent before: the body as a tree, the model set, <c>include_usage</c> set to true.</summary>
    private static JsonObject Expected(string body, string? model, bool usage)
    {
        var json = JsonNode.Parse(body)!.AsObject();
        if (model is not null)
        {
            json["model"] = model;
        }

        if (usage)
        {
            if (json["stream_options"] is JsonObject options)
            {
                options["include_usage"] = true;
            }
            else
            {
                json["stream_options"] = new JsonObject { ["include_usage"] = true };
            }
        }

        return json;
    }
}
