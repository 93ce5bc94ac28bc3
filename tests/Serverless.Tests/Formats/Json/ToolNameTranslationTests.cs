using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;
using static Serverless.Tests.Formats.Json.Translation;

namespace Serverless.Tests.Formats.Json;

/// <summary>
/// Tool names outside an upstream's rule (Claude Code's MCP tools, <c>mcp__{server}__{tool}</c>, past OpenAI's and
/// Gemini's 64 characters) go in one shortened form wherever the request names them, and come back in the answer.
/// </summary>
public sealed class ToolNameTranslationTests
{
    private const string LongName = "mcp__claude-code-relay-integration-server__get_weather_forecast_by_zip";

    private static readonly Dictionary<string, IChatFormat> UpstreamFormats = new()
    {
        ["openai-chat"] = OpenAIChatFormat.Default,
        ["responses"] = OpenAIResponsesFormat.Instance,
        ["gemini"] = GeminiFormat.Instance,
        ["anthropic"] = AnthropicFormat.Instance,
    };

    /// <summary>LiteLLM's form: the first 55 characters, <c>_</c>, the first 8 hex digits of the whole name's SHA-256.</summary>
    private static string Shortened(string prefix, string name) =>
        prefix + "_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8];

    [Theory]
    [InlineData("get_weather")]
    [InlineData("mcp__github__create_pull_request")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234")]
    public void Of_NameWithinRule_SameString(string name)
    {
        Assert.Same(name, UpstreamToolNames.OpenAI.Of(name));
        Assert.Same(name, UpstreamToolNames.Gemini.Of(name));
        Assert.Null(UpstreamToolNames.OpenAI.MapOf([new ToolDefinition(name, null, ToolDefinition.NoParameters())]));
    }

    [Fact]
    public void Of_LongName_PrefixAndHashWithin64()
    {
        var shortened = UpstreamToolNames.OpenAI.Of(LongName);

        Assert.Equal(Shortened(LongName[..55], LongName), shortened);
        Assert.Equal(64, shortened.Length);
        Assert.Equal(shortened, UpstreamToolNames.Gemini.Of(LongName));
        Assert.NotEqual(shortened, UpstreamToolNames.OpenAI.Of(LongName[..^1] + "x"));
    }

    /// <summary>Each format's own characters: Gemini takes dots and colons, OpenAI does not; Gemini's first one must be a letter or <c>_</c>.</summary>
    [Theory]
    [InlineData("openai", "files.read", "files_read")]
    [InlineData("gemini", "files.read", null)]
    [InlineData("openai", "1st-tool", null)]
    [InlineData("gemini", "1st-tool", "_st-tool")]
    [InlineData("openai", "", "")]
    public void Of_CharactersOutsideRule_ReplacedAndHashed(string upstream, string name, string? prefix)
    {
        var names = upstream == "gemini" ? UpstreamToolNames.Gemini : UpstreamToolNames.OpenAI;

        Assert.Equal(prefix is null ? name : Shortened(prefix, name), names.Of(name));
    }

    /// <summary>
    /// Claude Code's request with a long MCP tool, forced, called earlier and answered: every name the upstream gets is
    /// the shortened one (Gemini's <c>functionResponse.name</c> among them); Anthropic, whose rule it passes, gets it as sent.
    /// </summary>
    [Theory]
    [InlineData("openai-chat", 3)]
    [InlineData("responses", 3)]
    [InlineData("gemini", 4)]
    [InlineData("anthropic", 3)]
    public void Translate_AnthropicLongToolName_SameShortNameEverywhere(string upstream, int named)
    {
        var body = """
            {"model":"m","max_tokens":100,
             "tools":[{"name":"LONG_NAME","input_schema":{"type":"object","properties":{"zip":{"type":"string"}}}},
                      {"name":"get_time","input_schema":{"type":"object"}}],
             "tool_choice":{"type":"tool","name":"LONG_NAME"},
             "messages":[{"role":"user","content":"weather at 75001?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"LONG_NAME","input":{"zip":"75001"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"}]}]}
            """.Replace("LONG_NAME", LongName, StringComparison.Ordinal);

        var written = Write(Read(AnthropicFormat.Instance, body), UpstreamFormats[upstream]);

        var names = StringsStartingWith(written, "mcp__").ToList();
        Assert.Equal(named, names.Count);
        Assert.All(names, name => Assert.Equal(upstream == "anthropic" ? LongName : Shortened(LongName[..55], LongName), name));
        Assert.Contains("\"get_time\"", written.GetRawText(), StringComparison.Ordinal);
    }

    /// <summary>A request whose names all pass goes byte for byte as it did before names were ever shortened.</summary>
    [Theory]
    [InlineData("openai-chat")]
    [InlineData("responses")]
    [InlineData("gemini")]
    public void Translate_NamesWithinRule_Untouched(string upstream)
    {
        var body = """
            {"model":"m","max_tokens":100,"tools":[{"name":"mcp__github__create_pull_request","input_schema":{"type":"object"}}],
             "messages":[{"role":"user","content":"hi"}]}
            """;

        var written = Write(Read(AnthropicFormat.Instance, body), UpstreamFormats[upstream]);

        Assert.Equal(["mcp__github__create_pull_request"], StringsStartingWith(written, "mcp__"));
        Assert.Null(UpstreamFormats[upstream].ToolNames!.MapOf(Read(AnthropicFormat.Instance, body).Tools));
    }

    [Fact]
    public void Restore_AnswerCallingShortenedName_DeclaredName()
    {
        var map = UpstreamToolNames.OpenAI.MapOf([new ToolDefinition("get_time", null, ToolDefinition.NoParameters()), new ToolDefinition(LongName, null, ToolDefinition.NoParameters())])!;
        var shortened = UpstreamToolNames.OpenAI.Of(LongName);
        var answer = new ChatResponse
        {
            Id = "a",
            Model = "m",
            Content = [new TextPart("checking"), new ToolCallPart("call_1", shortened, "{}"), new ToolCallPart("call_2", "get_time", "{}")],
        };
        List<StreamEvent> events = [new ToolCallStarted(0, "call_1", shortened), new ToolArgumentsDelta(0, "{}"), new ToolCallStarted(1, "call_2", "get_time")];

        var restored = map.Restore(answer);
        map.Restore(events);

        Assert.Equal([LongName, "get_time"], restored.Content.OfType<ToolCallPart>().Select(call => call.Name));
        Assert.Equal([LongName, "get_time"], events.OfType<ToolCallStarted>().Select(started => started.Name));
        var noCalls = answer with { Content = [new TextPart("no calls")] };
        Assert.Same(noCalls, map.Restore(noCalls));
    }

    private static IEnumerable<string> StringsStartingWith(JsonElement element, string prefix) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(property => StringsStartingWith(property.Value, prefix)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(item => StringsStartingWith(item, prefix)),
        JsonValueKind.String when element.GetString()!.StartsWith(prefix, StringComparison.Ordinal) => [element.GetString()!],
        _ => [],
    };
}
