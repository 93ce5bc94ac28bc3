using System.Text.Json;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;
using static Serverless.Tests.Formats.Json.Translation;

namespace Serverless.Tests.Formats.Json;

/// <summary>
/// A Responses client's custom (freeform) and namespaced tools through a translation, as Codex declares
/// <c>apply_patch</c> to GPT-5 models: other upstreams get a function taking the free text as one string, <c>input</c>,
/// and the calls and results in the client's history come back as that function's.
/// </summary>
public sealed class ResponsesToolTranslationTests
{
    public const string Grammar = "start: begin_patch hunk+ end_patch\nbegin_patch: \"*** Begin Patch\" LF";

    public const string Patch = "*** Begin Patch\n*** Add File: hello.txt\n+héllo \"world\"\n*** End Patch";

    public const string InputSchema = """{"type":"object","properties":{"input":{"type":"string"}},"required":["input"],"additionalProperties":false}""";

    public static readonly string ApplyPatch =
        $$$"""{"type":"custom","name":"apply_patch","description":"Edit files.","format":{"type":"grammar","syntax":"lark","definition":{{{JsonSerializer.Serialize(Grammar)}}}}}""";

    private const string Described = "Edit files.\n\nThe `input` string must follow this lark grammar:\n" + Grammar;

    private static readonly string PatchHistory = $$"""
        [{"role":"user","content":"add hello.txt"},
         {"type":"custom_tool_call","call_id":"call_1","name":"apply_patch","input":{{JsonSerializer.Serialize(Patch)}}},
         {"type":"custom_tool_call_output","call_id":"call_1","output":"Done!"}]
        """;

    [Fact]
    public void Translate_CustomToolToChatCompletions_FunctionTakingTheInputString()
    {
        var written = Write(Read(OpenAIResponsesFormat.Instance, $$"""{"model":"m","input":"hi","tools":[{{ApplyPatch}}]}"""), OpenAIChatFormat.Default);

        var function = Assert.Single(written.GetProperty("tools").EnumerateArray()).GetProperty("function");
        Assert.Equal("apply_patch", function.GetProperty("name").GetString());
        Assert.Equal(Described, function.GetProperty("description").GetString());
        Assert.Equal(InputSchema, function.GetProperty("parameters").GetRawText());
    }

    [Fact]
    public void Translate_CustomToolToAnthropic_ToolTakingTheInputString()
    {
        var written = Write(Read(OpenAIResponsesFormat.Instance, $$"""{"model":"m","input":"hi","tools":[{{ApplyPatch}}]}"""), AnthropicFormat.Instance);

        var tool = Assert.Single(written.GetProperty("tools").EnumerateArray());
        Assert.Equal("apply_patch", tool.GetProperty("name").GetString());
        Assert.Equal(Described, tool.GetProperty("description").GetString());
        Assert.Equal(InputSchema, tool.GetProperty("input_schema").GetRawText());
    }

    /// <summary>An <c>allowed_tools</c> choice may list a custom tool; it stays offered beside the listed functions.</summary>
    [Fact]
    public void Translate_AllowedToolsListingACustomTool_KeepsIt()
    {
        var body = $$$"""
            {"model":"m","input":"hi","tools":[{{{ApplyPatch}}},{"type":"function","name":"shell","parameters":{"type":"object"}}],
             "tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"custom","name":"apply_patch"}]}}
            """;

        var written = Write(Read(OpenAIResponsesFormat.Instance, body), AnthropicFormat.Instance);

        Assert.Equal("apply_patch", Assert.Single(written.GetProperty("tools").EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal("""{"type":"any"}""", written.GetProperty("tool_choice").GetRawText());
    }

    [Theory]
    [InlineData("""{"type":"custom","name":"notes"}""", null)]
    [InlineData("""{"type":"custom","name":"notes","description":"Free text.","format":{"type":"text"}}""", "Free text.")]
    [InlineData("""{"type":"custom","name":"notes","format":{"type":"grammar","syntax":"regex","definition":"\\d+"}}""", "The `input` string must follow this regex grammar:\n\\d+")]
    public void Translate_CustomToolFormat_GrammarAfterTheDescription(string tool, string? description)
    {
        var written = Write(Read(OpenAIResponsesFormat.Instance, $$"""{"model":"m","input":"hi","tools":[{{tool}}]}"""), AnthropicFormat.Instance);

        var declared = Assert.Single(written.GetProperty("tools").EnumerateArray());
        Assert.Equal(description, declared.TryGetProperty("description", out var text) ? text.GetString() : null);
    }

    [Fact]
    public void Translate_CustomToolCallHistoryToAnthropic_ToolUseWithTheInputAndItsResult()
    {
        var written = Write(Read(OpenAIResponsesFormat.Instance, $$"""{"model":"m","tools":[{{ApplyPatch}}],"input":{{PatchHistory}}}"""), AnthropicFormat.Instance);

        var messages = written.GetProperty("messages");
        Assert.Equal(3, messages.GetArrayLength());
        var call = Assert.Single(messages[1].GetProperty("content").EnumerateArray());
        Assert.Equal(("assistant", "tool_use", "call_1", "apply_patch"), (messages[1].GetProperty("role").GetString(), call.GetProperty("type").GetString(), call.GetProperty("id").GetString(), call.GetProperty("name").GetString()));
        Assert.Equal(Patch, call.GetProperty("input").GetProperty("input").GetString());
        var result = Assert.Single(messages[2].GetProperty("content").EnumerateArray());
        Assert.Equal(("user", "tool_result", "call_1"), (messages[2].GetProperty("role").GetString(), result.GetProperty("type").GetString(), result.GetProperty("tool_use_id").GetString()));
        Assert.Equal("Done!", Assert.Single(result.GetProperty("content").EnumerateArray()).GetProperty("text").GetString());
    }

    [Fact]
    public void Translate_CustomToolCallHistoryToChatCompletions_ToolCallWithTheInputAndItsResult()
    {
        var written = Write(Read(OpenAIResponsesFormat.Instance, $$"""{"model":"m","tools":[{{ApplyPatch}}],"input":{{PatchHistory}}}"""), OpenAIChatFormat.Default);

        var messages = written.GetProperty("messages");
        var call = Assert.Single(messages[1].GetProperty("tool_calls").EnumerateArray());
        Assert.Equal(("call_1", "apply_patch"), (call.GetProperty("id").GetString(), call.GetProperty("function").GetProperty("name").GetString()));

        // The arguments are the function's: the free text as "input", its characters unescaped for the model to read.
        var arguments = call.GetProperty("function").GetProperty("arguments").GetString()!;
        Assert.Equal("""{"input":"*** Begin Patch\n*** Add File: hello.txt\n+héllo \"world\"\n*** End Patch"}""", arguments);
        Assert.Equal(("tool", "call_1", "Done!"), (messages[2].GetProperty("role").GetString(), messages[2].GetProperty("tool_call_id").GetString(), messages[2].GetProperty("content").GetString()));
    }

    [Fact]
    public void Translate_CustomToolCallHistoryToGemini_FunctionCallAndResponse()
    {
        var written = Write(Read(OpenAIResponsesFormat.Instance, $$"""{"model":"m","tools":[{{ApplyPatch}}],"input":{{PatchHistory}}}"""), GeminiFormat.Instance);

        var contents = written.GetProperty("contents");
        var call = Assert.Single(contents[1].GetProperty("parts").EnumerateArray()).GetProperty("functionCall");
        Assert.Equal(("apply_patch", Patch), (call.GetProperty("name").GetString(), call.GetProperty("args").GetProperty("input").GetString()));
        Assert.Equal("apply_patch", Assert.Single(contents[2].GetProperty("parts").EnumerateArray()).GetProperty("functionResponse").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("anthropic", """{"type":"tool","name":"apply_patch"}""")]
    [InlineData("openai-chat", """{"type":"function","function":{"name":"apply_patch"}}""")]
    public void Translate_CustomToolChoice_ForcesThatTool(string upstream, string expected)
    {
        IChatFormat format = upstream == "anthropic" ? AnthropicFormat.Instance : OpenAIChatFormat.Default;
        var request = Read(OpenAIResponsesFormat.Instance, $$$"""{"model":"m","input":"hi","tools":[{{{ApplyPatch}}}],"tool_choice":{"type":"custom","name":"apply_patch"}}""");

        Assert.Equal(expected, Write(request, format).GetProperty("tool_choice").GetRawText());
    }

    [Fact]
    public void Translate_NamespaceTools_JoinTheListUnderTheirOwnNames()
    {
        var request = Read(OpenAIResponsesFormat.Instance, """
            {"model":"m","input":"hi","tools":[
              {"type":"function","name":"shell","parameters":{"type":"object"}},
              {"type":"namespace","name":"crm","description":"Customer records.","tools":[
                {"type":"function","name":"get_customer","description":"One customer.","parameters":{"type":"object","properties":{"id":{"type":"integer"}}}},
                {"type":"custom","name":"query"}]}]}
            """);

        var written = Write(request, OpenAIChatFormat.Default);

        Assert.Equal(["shell", "get_customer", "query"], written.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("function").GetProperty("name").GetString()));
        Assert.Equal([null, "crm", "crm"], request.Tools.Select(t => t.Namespace));
        Assert.Equal([false, false, true], request.Tools.Select(t => t.IsCustom));
    }

    [Theory]
    [InlineData("""[{"type":"namespace","tools":[]}]""", "tools[0].name: field required")]
    [InlineData("""[{"type":"namespace","name":"crm","tools":{}}]""", "tools[0].tools: must be an array")]
    [InlineData("""[{"type":"namespace","name":"crm","tools":[{"type":"function"}]}]""", "tools[0].tools[0].name: field required")]
    [InlineData("""[{"type":"custom","name":"notes","description":7}]""", "tools[0].description: must be a string")]
    public void ReadRequest_BadNamespaceOrCustomTool_InvalidNamingTheField(string tools, string message)
    {
        var result = OpenAIResponsesFormat.Instance.ReadRequest(Parse($$"""{"model":"m","input":"hi","tools":{{tools}}}"""), null, false);

        Assert.Equal(message, result.Error?.Message);
        Assert.Equal("tools", result.Error?.Param);
    }

    [Fact]
    public void ReadRequest_CustomToolCallWithoutInput_InvalidNamingTheField()
    {
        var result = OpenAIResponsesFormat.Instance.ReadRequest(Parse("""{"model":"m","input":[{"type":"custom_tool_call","call_id":"c","name":"apply_patch"}]}"""), null, false);

        Assert.Equal("input[0].input: field required", result.Error?.Message);
    }
}
