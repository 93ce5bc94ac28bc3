using System.Text;
using System.Text.Json;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;

namespace Serverless.Tests.Formats.Json;

/// <summary>
/// Issue 8: a string that is not valid UTF-8, or that holds an unpaired surrogate escape, made
/// <see cref="JsonElement.GetString"/> throw, and every client route answered an empty 500. Each format's reader must
/// refuse it as a 400 naming the field.
/// </summary>
public sealed class UnreadableTextTests
{
    private const string Bad = "@BAD@";

    // Each body has the marker inside a message's text; the path is where the readers must say it is.
    private static readonly Dictionary<string, (IChatFormat Format, string Body, string Path, string Param)> Cases = new()
    {
        ["openai-chat"] = (OpenAIChatFormat.Default, """{"model":"gpt-4o","messages":[{"role":"user","content":"hi @BAD@"}]}""", "messages[0].content", "messages"),
        ["responses"] = (OpenAIResponsesFormat.Instance, """{"model":"gpt-4o","input":[{"role":"user","content":"hi @BAD@"}]}""", "input[0].content", "input"),
        ["anthropic"] = (AnthropicFormat.Instance, """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":[{"type":"text","text":"hi @BAD@"}]}]}""", "messages[0].content[0].text", "messages"),
        ["gemini"] = (GeminiFormat.Instance, """{"contents":[{"role":"user","parts":[{"text":"hi @BAD@"}]}]}""", "contents[0].parts[0].text", "contents"),
    };

    public static TheoryData<string> Formats() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Formats))]
    public void ReadRequest_LoneSurrogateEscape_InvalidRequestNamingField(string format)
    {
        var (chat, body, path, param) = Cases[format];

        var error = ReadError(chat, Encoding.UTF8.GetBytes(body.Replace(Bad, "\\ud800", StringComparison.Ordinal)));

        AssertUnreadable(chat, error, path, param);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void ReadRequest_InvalidUtf8Bytes_InvalidRequestNamingField(string format)
    {
        var (chat, body, path, param) = Cases[format];
        var at = body.IndexOf(Bad, StringComparison.Ordinal);
        byte[] bytes = [.. Encoding.UTF8.GetBytes(body[..at]), 0xC3, 0x28, 0xFF, .. Encoding.UTF8.GetBytes(body[(at + Bad.Length)..])];

        var error = ReadError(chat, bytes);

        AssertUnreadable(chat, error, path, param);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void ReadRequest_EscapedSurrogatePair_Reads(string format)
    {
        var (chat, body, _, _) = Cases[format];

        var parsed = Read(chat, Encoding.UTF8.GetBytes(body.Replace(Bad, "\\ud83d\\ude00 \\n \\\"", StringComparison.Ordinal)));

        Assert.Null(parsed.Error);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void ReadRequest_EscapedBackslashBeforeSurrogateDigits_ReadsAsText(string format)
    {
        // An escaped backslash, then "ud800": the check's first pass over the bytes sees a surrogate escape, the walk does not.
        var (chat, body, _, _) = Cases[format];

        var parsed = Read(chat, Encoding.UTF8.GetBytes(body.Replace(Bad, "\\\\ud800", StringComparison.Ordinal)));

        Assert.Null(parsed.Error);
        Assert.Contains("\\ud800", Assert.IsType<Serverless.Relay.Canonical.TextPart>(Assert.Single(parsed.Value!.Messages[0].Content)).Text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void ReadRequest_LoneSurrogateAfterAValidPair_InvalidRequestNamingField(string format)
    {
        var (chat, body, path, param) = Cases[format];

        var error = ReadError(chat, Encoding.UTF8.GetBytes(body.Replace(Bad, "\\ud83d\\ude00 \\udc00", StringComparison.Ordinal)));

        AssertUnreadable(chat, error, path, param);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("true")]
    [InlineData("{\"name\":\"user\"}")]
    [InlineData("[\"user\"]")]
    public void AnthropicReadRequest_NonStringRole_InvalidRequestNamingRole(string role)
    {
        var body = $$"""{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":{{role}},"content":"hi"}]}""";

        var error = ReadError(AnthropicFormat.Instance, Encoding.UTF8.GetBytes(body));

        Assert.Equal(ErrorKind.InvalidRequest, error.Kind);
        Assert.Equal("messages[0].role: must be one of user, assistant", error.Message);
        Assert.Equal(400, AnthropicFormat.Instance.StatusCodeOf(error));
    }

    [Fact]
    public void OpenAIChatReadRequest_NonStringToolType_InvalidRequestNamingType()
    {
        var error = ReadError(OpenAIChatFormat.Default, """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[{"type":7}]}"""u8.ToArray());

        Assert.Equal("tools[0].type: must be one of function, custom", error.Message);
        Assert.Equal("tools[0].type", error.Param);
    }

    [Fact]
    public void ReadResponse_LoneSurrogateInAnswer_UpstreamError()
    {
        using var document = JsonDocument.Parse("""{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"\ud800"},"finish_reason":"stop"}]}""");

        var parsed = OpenAIChatFormat.Default.ReadResponse(document.RootElement);

        Assert.Equal(ErrorKind.Upstream, parsed.Error?.Kind);
        Assert.Equal("upstream response: choices[0].message.content: must be valid UTF-8 text without unpaired surrogates", parsed.Error?.Message);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void StreamDecoder_LoneSurrogateInEvent_UpstreamError(string format)
    {
        var chat = Cases[format].Format;
        var decoder = chat.CreateStreamDecoder();
        var output = new List<Serverless.Relay.Canonical.StreamEvent>();

        var error = decoder.Decode(new Serverless.Relay.Formats.Sse.SseEvent("message", """{"type":"x","text":"\ud800"}"""), output);

        Assert.Equal(ErrorKind.Upstream, error?.Kind);
        Assert.Equal("upstream response: text: must be valid UTF-8 text without unpaired surrogates", error?.Message);
        Assert.Empty(output);
    }

    [Fact]
    public void StreamDecoder_InvalidUtf8BytesInEvent_ReadAsReplacementCharacters()
    {
        // Events are decoded from their bytes in place; bytes that are not UTF-8 must still read as U+FFFD, as they did
        // when every event went through a .NET string, not fail the stream.
        var decoder = OpenAIChatFormat.Default.CreateStreamDecoder();
        var output = new List<Serverless.Relay.Canonical.StreamEvent>();
        var bytes = Encoding.UTF8.GetBytes("""{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a@b"}}]}""");
        bytes[Array.IndexOf(bytes, (byte)'@')] = 0xFF;

        var error = decoder.Decode(new Serverless.Relay.Formats.Sse.SseEvent(null, bytes), output);

        Assert.Null(error);
        var delta = Assert.Single(output.OfType<Serverless.Relay.Canonical.TextDelta>());
        Assert.Equal("a\uFFFDb", delta.Text);
    }

    private static void AssertUnreadable(IChatFormat format, RelayError error, string path, string param)
    {
        Assert.Equal(ErrorKind.InvalidRequest, error.Kind);
        Assert.Equal($"{path}: must be valid UTF-8 text without unpaired surrogates", error.Message);
        Assert.Equal(param, error.Param);
        Assert.Equal(400, format.StatusCodeOf(error));
    }

    private static Result<Serverless.Relay.Canonical.ChatRequest> Read(IChatFormat format, byte[] body)
    {
        // NOTE: the document parses: System.Text.Json checks UTF-8 and escapes only when a string is read.
        using var document = JsonDocument.Parse(body);
        return format.ReadRequest(document.RootElement, format is GeminiFormat ? "gemini-2.5-flash" : null, stream: false);
    }

    private static RelayError ReadError(IChatFormat format, byte[] body)
    {
        var parsed = Read(format, body);
        Assert.False(parsed.IsSuccess);
        return parsed.Error!;
    }
}
