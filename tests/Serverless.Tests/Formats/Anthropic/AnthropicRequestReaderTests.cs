using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Xunit;

namespace Serverless.Tests.Formats.Anthropic;

public sealed class AnthropicRequestReaderTests
{
    private static ChatRequest Read(string json)
    {
        var parsed = AnthropicFormat.Instance.ReadRequest(AnthropicTestJson.Parse(json), modelFromPath: null, stream: false);
        Assert.Null(parsed.Error);
        return parsed.Value!;
    }

    private static RelayError ReadError(string json)
    {
        var parsed = AnthropicFormat.Instance.ReadRequest(AnthropicTestJson.Parse(json), modelFromPath: null, stream: false);
        Assert.False(parsed.IsSuccess);
        return parsed.Error!;
    }

    [Fact]
    public void ReadRequest_MinimalBody_MapsModelMaxTokensAndStringContent()
    {
        var request = Read("""{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Hello"}]}""");

        Assert.Equal("claude-sonnet-4-5", request.Model);
        Assert.Equal(1024, request.MaxOutputTokens);
        var message = Assert.Single(request.Messages);
        Assert.Equal(ChatRole.User, message.Role);
        Assert.Equal(new TextPart("Hello"), Assert.Single(message.Content));
        Assert.Empty(request.System);
        Assert.Empty(request.Tools);
        Assert.Null(request.ToolChoice);
        Assert.Null(request.ParallelToolCalls);
        Assert.False(request.Stream);
        Assert.Null(request.User);
    }

    [Fact]
    public void ReadRequest_SamplingFields_AreMapped()
    {
        var request = Read("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
             "temperature":0.3,"top_p":0.9,"top_k":40,"stop_sequences":["END","\n\nHuman:"],"stream":true,
             "metadata":{"user_id":"user-42"}}
            """);

        Assert.Equal(0.3, request.Temperature);
        Assert.Equal(0.9, request.TopP);
        Assert.Equal(["END", "\n\nHuman:"], request.StopSequences);
        Assert.True(request.Stream);
        Assert.False(request.StreamUsage);
        Assert.Equal("user-42", request.User);
    }

    [Fact]
    public void ReadRequest_SystemString_BecomesOneTextPart()
    {
        var request = Read("""{"model":"m","max_tokens":10,"system":"Be terse.","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(new TextPart("Be terse."), Assert.Single(request.System));
    }

    [Fact]
    public void ReadRequest_SystemBlocks_KeepCacheControl()
    {
        var request = Read("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
             "system":[{"type":"text","text":"Rules."},{"type":"text","text":"Long context","cache_control":{"type":"ephemeral","ttl":"1h"}}]}
            """);

        Assert.Equal(2, request.System.Count);
        Assert.Equal("Rules.", request.System[0].Text);
        Assert.Null(request.System[0].CacheControl);
        Assert.Equal("Long context", request.System[1].Text);
        Assert.Equal("""{"type":"ephemeral","ttl":"1h"}""", request.System[1].CacheControl!.ToJsonString());
    }

    [Fact]
    public void ReadRequest_MultiTurnBlocks_KeepOrderRolesAndCacheControl()
    {
        var request = Read("""
            {"model":"m","max_tokens":10,"messages":[
              {"role":"user","content":[{"type":"text","text":"Hi","cache_control":{"type":"ephemeral"}}]},
              {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig=="},{"type":"text","text":"Hello!"}]},
              {"role":"user","content":"Bye"}]}
            """);

        Assert.Collection(
            request.Messages,
            m =>
            {
                Assert.Equal(ChatRole.User, m.Role);
                var text = Assert.IsType<TextPart>(Assert.Single(m.Content));
                Assert.Equal("Hi", text.Text);
                Assert.Equal("""{"type":"ephemeral"}""", text.CacheControl!.ToJsonString());
            },
            m =>
            {
                Assert.Equal(ChatRole.Assistant, m.Role);
                Assert.Equal([new ThinkingPart("hmm", "sig=="), new TextPart("Hello!")], m.Content);
            },
            m => Assert.Equal(ChatRole.User, m.Role));
    }

    [Fact]
    public void ReadRequest_Images_Base64UrlAndDataUrl()
    {
        var request = Read("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":[
              {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},
              {"type":"image","source":{"type":"url","url":"https://example.com/cat.png"},"cache_control":{"type":"ephemeral"}},
              {"type":"image","source":{"type":"url","url":"data:image/png;base64,iVBORw0K"}},
              {"type":"text","text":"What is this?"}]}]}
            """);

        var content = Assert.Single(request.Messages).Content;
        Assert.Equal(4, content.Count);
        var base64 = Assert.IsType<ImagePart>(content[0]);
        Assert.Equal(("image/jpeg", "/9j/4AAQ", null), (base64.MediaType, base64.Data, base64.Url));
        var url = Assert.IsType<ImagePart>(content[1]);
        Assert.Equal("https://example.com/cat.png", url.Url);
        Assert.Null(url.Data);
        Assert.NotNull(url.CacheControl);
        var dataUrl = Assert.IsType<ImagePart>(content[2]);
        Assert.Equal(("image/png", "iVBORw0K", null), (dataUrl.MediaType, dataUrl.Data, dataUrl.Url));
    }

    [Fact]
    public void ReadRequest_ToolUseAndToolResult_SplitIntoToolThenUserMessages()
    {
        var request = Read("""
            {"model":"m","max_tokens":10,"messages":[
              {"role":"user","content":"Weather in Paris?"},
              {"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"toolu_01","content":"18C","cache_control":{"type":"ephemeral"}},
                {"type":"text","text":"And tomorrow?"}]}]}
            """);

        Assert.Equal(4, request.Messages.Count);
        var call = Assert.IsType<ToolCallPart>(request.Messages[1].Content[1]);
        Assert.Equal(new ToolCallPart("toolu_01", "get_weather", """{"city":"Paris"}"""), call);

        var tool = request.Messages[2];
        Assert.Equal(ChatRole.Tool, tool.Role);
        var result = Assert.IsType<ToolResultPart>(Assert.Single(tool.Content));
        Assert.Equal("toolu_01", result.ToolCallId);
        Assert.Equal("get_weather", result.ToolName);
        Assert.False(result.IsError);
        Assert.Equal([new TextPart("18C")], result.Content);
        Assert.NotNull(result.CacheControl);

        Assert.Equal(ChatRole.User, request.Messages[3].Role);
        Assert.Equal([new TextPart("And tomorrow?")], request.Messages[3].Content);
    }

    [Fact]
    public void ReadRequest_ToolResultBlocksContent_KeepsTextImagesDocumentsAndErrorFlag()
    {
        var request = Read("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":[
              {"type":"tool_result","tool_use_id":"toolu_02","is_error":true,"content":[
                {"type":"text","text":"failed"},
                {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},
                {"type":"document","source":{"type":"text","media_type":"text/plain","data":"notes"}},
                {"type":"search_result","source":"https://x","title":"dropped","content":[]}]},
              {"type":"tool_result","tool_use_id":"toolu_03"}]}]}
            """);

        var message = Assert.Single(request.Messages);
        Assert.Equal(ChatRole.Tool, message.Role);
        Assert.Equal(2, message.Content.Count);
        var failed = Assert.IsType<ToolResultPart>(message.Content[0]);
        Assert.True(failed.IsError);
        Assert.Null(failed.ToolName);
        Assert.Equal(3, failed.Content.Count);
        Assert.Equal(new TextPart("failed"), failed.Content[0]);
        Assert.Equal("AAAA", Assert.IsType<ImagePart>(failed.Content[1]).Data);
        Assert.Equal(new DocumentPart { MediaType = "text/plain", Data = "bm90ZXM=" }, failed.Content[2]);
        Assert.Empty(Assert.IsType<ToolResultPart>(message.Content[1]).Content);
    }

    [Fact]
    public void ReadRequest_UnsupportedBlocks_AreDropped()
    {
        var request = Read("""
            {"model":"m","max_tokens":10,"messages":[
              {"role":"user","content":[{"type":"search_result","source":"https://x","title":"t","content":[]},{"type":"text","text":"Summarize"}]},
              {"role":"assistant","content":[{"type":"redacted_thinking","data":"opaque"},{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}},{"type":"text","text":"Done"}]}]}
            """);

        Assert.Equal([new TextPart("Summarize")], request.Messages[0].Content);
        Assert.Equal([new TextPart("Done")], request.Messages[1].Content);
    }

    [Fact]
    public void ReadRequest_ThinkingWithEmptySignature_HasNoSignature()
    {
        var request = Read("""{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":""}]}]}""");

        Assert.Equal(new ThinkingPart("t"), Assert.Single(Assert.Single(request.Messages).Content));
    }

    [Fact]
    public void ReadRequest_Tools_MapCustomToolsAndDropServerTools()
    {
        var request = Read("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
             "tools":[
               {"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"cache_control":{"type":"ephemeral"}},
               {"type":"web_search_20250305","name":"web_search","max_uses":3},
               {"type":"custom","name":"noop","input_schema":{"type":"object"}}]}
            """);

        Assert.Equal(2, request.Tools.Count);
        var weather = request.Tools[0];
        Assert.Equal("get_weather", weather.Name);
        Assert.Equal("Current weather", weather.Description);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""),
            weather.Parameters));
        Assert.NotNull(weather.CacheControl);
        Assert.Equal("noop", request.Tools[1].Name);
        Assert.Null(request.Tools[1].Description);
    }

    /// <summary>
    /// Claude Code's WebSearch forces Anthropic's server tool, which no other provider runs: a translation refuses it
    /// rather than drop it (an Anthropic account in the pool still serves it).
    /// </summary>
    [Fact]
    public void ReadRequest_ToolChoiceForcesServerTool_TranslationRefusesNamingIt()
    {
        var error = Read("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"Perform a web search for the query: relay"}],
             "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":8}],
             "tool_choice":{"type":"tool","name":"web_search"}}
            """).Untranslatable!;

        Assert.Equal(ErrorKind.InvalidRequest, error.Kind);
        Assert.Equal("tool_choice.name: web_search is Anthropic's server tool web_search_20250305, which runs only at Anthropic, and this model is served by translating the request for another provider; use a model an Anthropic account serves", error.Message);
    }

    [Theory]
    [InlineData("""{"type":"auto"}""", ToolChoiceKind.Auto, null, null)]
    [InlineData("""{"type":"any"}""", ToolChoiceKind.Required, null, null)]
    [InlineData("""{"type":"none"}""", ToolChoiceKind.None, null, null)]
    [InlineData("""{"type":"tool","name":"get_weather"}""", ToolChoiceKind.Tool, "get_weather", null)]
    [InlineData("""{"type":"auto","disable_parallel_tool_use":true}""", ToolChoiceKind.Auto, null, false)]
    [InlineData("""{"type":"any","disable_parallel_tool_use":false}""", ToolChoiceKind.Required, null, null)]
    public void ReadRequest_ToolChoice_MapsKindNameAndParallel(string toolChoice, object kind, string? name, bool? parallel)
    {
        var request = Read($$$"""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tool_choice":{{{toolChoice}}}}""");

        Assert.Equal(new ToolChoice((ToolChoiceKind)kind, name), request.ToolChoice);
        Assert.Equal(parallel, request.ParallelToolCalls);
    }

    [Theory]
    [InlineData("""[]""", "request body: must be a JSON object", null)]
    [InlineData("""{"max_tokens":10,"messages":[]}""", "model: field required", "model")]
    [InlineData("""{"model":5,"max_tokens":10,"messages":[]}""", "model: must be a non-empty string", "model")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", "max_tokens: field required", "max_tokens")]
    [InlineData("""{"model":"m","max_tokens":"10","messages":[]}""", "max_tokens: must be a non-negative integer", "max_tokens")]
    [InlineData("""{"model":"m","max_tokens":-1,"messages":[]}""", "max_tokens: must be a non-negative integer", "max_tokens")]
    [InlineData("""{"model":"m","max_tokens":10}""", "messages: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":{}}""", "messages: must be an array", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[]}""", "messages: must contain at least one message", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":["hi"]}""", "messages[0]: must be an object", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"content":"hi"}]}""", "messages[0].role: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"a"},{"role":"system","content":"b"}]}""", "messages[1].role: must be one of user, assistant", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user"}]}""", "messages[0].content: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":5}]}""", "messages[0].content: must be a string or an array of content blocks", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":["x"]}]}""", "messages[0].content[0]: must be an object", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"text":"x"}]}]}""", "messages[0].content[0].type: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text"}]}]}""", "messages[0].content[0].text: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}""", "messages[0].content[0].text: must be a string", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image"}]}]}""", "messages[0].content[0].source: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AA"}}]}]}""", "messages[0].content[0].source.media_type: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url"}}]}]}""", "messages[0].content[0].source.url: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"url":"https://x"}}]}]}""", "messages[0].content[0].source.type: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]}]}""", "messages[0].content[0]: tool_use blocks are only allowed in assistant messages", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"n","input":{}}]}]}""", "messages[0].content[0].id: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":"{}"}]}]}""", "messages[0].content[0].input: must be an object", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"t"}]}]}""", "messages[0].content[0]: tool_result blocks are only allowed in user messages", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}""", "messages[0].content[0].tool_use_id: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text"}]}]}]}""", "messages[0].content[0].content[0].text: field required", "messages")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"system":5}""", "system: must be a string or an array of text blocks", "system")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"system":[{"type":"image"}]}""", "system[0].type: must be text", "system")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":{}}""", "tools: must be an array", "tools")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"input_schema":{}}]}""", "tools[0].name: field required", "tools")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"n"}]}""", "tools[0].input_schema: field required", "tools")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"required"}}""", "tool_choice.type: must be one of auto, any, tool, none", "tool_choice")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"tool"}}""", "tool_choice.name: field required", "tool_choice")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature: must be a number", "temperature")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"top_p":[]}""", "top_p: must be a number", "top_p")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"stop_sequences":"END"}""", "stop_sequences: must be an array of strings", "stop_sequences")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream: must be a boolean", "stream")]
    public void ReadRequest_InvalidField_ReturnsInvalidRequestNamingTheField(string json, string message, string? param)
    {
        var error = ReadError(json);

        Assert.Equal(ErrorKind.InvalidRequest, error.Kind);
        Assert.Equal(message, error.Message);
        Assert.Equal(param, error.Param);
    }
}
