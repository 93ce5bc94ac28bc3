using System.Text.Json;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;
using static Serverless.Tests.Formats.Json.Translation;

namespace Serverless.Tests.Formats.Json;

/// <summary>What a client says about its tools beyond their schemas (which it lets the model call, how strictly) through every translation.</summary>
public sealed class ToolTranslationTests
{
    private static readonly Dictionary<string, IChatFormat> UpstreamFormats = new()
    {
        ["openai-chat"] = OpenAIChatFormat.Default,
        ["anthropic"] = AnthropicFormat.Instance,
        ["gemini"] = GeminiFormat.Instance,
    };

    private const string ThreeTools = """
        "tools":[
          {"type":"function","name":"get_weather","parameters":{"type":"object"}},
          {"type":"function","name":"get_time","parameters":{"type":"object"}},
          {"type":"web_search"},
          {"type":"function","name":"send_mail","parameters":{"type":"object"}}]
        """;

    /// <summary>
    /// Responses' <c>allowed_tools</c> choice: the model may call only the listed tools (a built-in one among them was
    /// dropped with the tool), and must call one of them when the mode is required.
    /// </summary>
    [Theory]
    [InlineData("required", "openai-chat", "get_weather,send_mail", "\"required\"")]
    [InlineData("auto", "openai-chat", "get_weather,send_mail", "\"auto\"")]
    [InlineData("required", "anthropic", "get_weather,send_mail", """{"type":"any"}""")]
    [InlineData("auto", "anthropic", "get_weather,send_mail", """{"type":"auto"}""")]
    [InlineData("required", "gemini", "get_weather,send_mail", """{"functionCallingConfig":{"mode":"ANY"}}""")]
    public void Translate_ResponsesAllowedTools_UpstreamOffersOnlyThoseTools(string mode, string upstream, string tools, string toolChoice)
    {
        var body = """{"model":"m","input":"hi",""" + ThreeTools + ""","tool_choice":{"type":"allowed_tools","mode":""" + $"\"{mode}\""
            + ""","tools":[{"type":"function","name":"send_mail"},{"type":"web_search"},{"type":"function","name":"get_weather"}]}}""";

        var written = Write(Read(OpenAIResponsesFormat.Instance, body), UpstreamFormats[upstream]);

        Assert.Equal(tools, string.Join(",", ToolNames(written, upstream)));
        Assert.Equal(toolChoice, written.GetProperty(upstream == "gemini" ? "toolConfig" : "tool_choice").GetRawText());
    }

    /// <summary>Chat Completions' <c>allowed_tools</c> choice, its own shape of the same thing, likewise.</summary>
    [Theory]
    [InlineData("required", "responses", "\"required\"")]
    [InlineData("required", "anthropic", """{"type":"any"}""")]
    [InlineData("auto", "gemini", """{"functionCallingConfig":{"mode":"AUTO"}}""")]
    public void Translate_ChatAllowedTools_UpstreamOffersOnlyThoseTools(string mode, string upstream, string toolChoice)
    {
        var body = $$$$"""
            {"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[
              {"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},
              {"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}},
              {"type":"function","function":{"name":"send_mail","parameters":{"type":"object"}}}],
             "tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"{{{{mode}}}}","tools":[
              {"type":"function","function":{"name":"send_mail"}},{"type":"function","function":{"name":"get_weather"}}]}}}
            """;
        var format = upstream == "responses" ? OpenAIResponsesFormat.Instance : UpstreamFormats[upstream];

        var written = Write(Read(OpenAIChatFormat.Default, body), format);

        Assert.Equal("get_weather,send_mail", string.Join(",", ToolNames(written, upstream)));
        Assert.Equal(toolChoice, written.GetProperty(upstream == "gemini" ? "toolConfig" : "tool_choice").GetRawText());
    }

    /// <summary>OpenAI's <c>strict</c> on a function tool travels between its two formats, both ways, and only when the client gave it.</summary>
    [Theory]
    [InlineData("openai-chat", ""","strict":true""", "responses", "true")]
    [InlineData("openai-chat", ""","strict":false""", "responses", "false")]
    [InlineData("openai-chat", "", "responses", "false")]
    [InlineData("responses", ""","strict":true""", "openai-chat", "true")]
    [InlineData("responses", ""","strict":false""", "openai-chat", "false")]
    [InlineData("responses", "", "openai-chat", null)]
    public void Translate_StrictFunctionTool_CarriedBetweenOpenAIFormats(string client, string strict, string upstream, string? written)
    {
        var request = client == "openai-chat"
            ? Read(OpenAIChatFormat.Default, """{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}""" + strict + "}}]}")
            : Read(OpenAIResponsesFormat.Instance, """{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":{"type":"object"}""" + strict + "}]}");

        var tool = Write(request, upstream == "responses" ? OpenAIResponsesFormat.Instance : OpenAIChatFormat.Default).GetProperty("tools")[0];

        var declared = upstream == "openai-chat" ? tool.GetProperty("function") : tool;
        Assert.Equal(written, declared.TryGetProperty("strict", out var value) ? value.GetRawText() : null);
    }

    /// <summary>Anthropic's and Gemini's tool declarations get no <c>strict</c>: not every model of theirs takes it.</summary>
    [Theory]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    public void Translate_StrictFunctionTool_NotWrittenToOtherProviders(string upstream)
    {
        var written = Write(Read(OpenAIResponsesFormat.Instance, """{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true}]}"""), UpstreamFormats[upstream]);

        Assert.DoesNotContain("strict", written.GetRawText(), StringComparison.Ordinal);
    }

    private static IEnumerable<string> ToolNames(JsonElement written, string upstream) => upstream switch
    {
        "openai-chat" => written.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("function").GetProperty("name").GetString()!),
        "anthropic" or "responses" => written.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!),
        _ => written.GetProperty("tools")[0].GetProperty("functionDeclarations").EnumerateArray().Select(t => t.GetProperty("name").GetString()!),
    };
}
