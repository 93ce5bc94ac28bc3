using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Anthropic;
using Xunit;

namespace Serverless.Tests.Formats.Anthropic;

public sealed class AnthropicRequestWriterTests
{
    private static string Write(ChatRequest request, string upstreamModel = "claude-upstream") =>
        AnthropicTestJson.Write(writer => AnthropicFormat.Instance.WriteRequest(request, upstreamModel, writer));

    private static ChatRequest Request(params ChatMessage[] messages) => new() { Model = "client-model", Messages = messages };

    private static ChatMessage User(params ContentPart[] parts) => new(ChatRole.User, parts);

    private static ChatMessage Assistant(params ContentPart[] parts) => new(ChatRole.Assistant, parts);

    private static ChatMessage Tool(params ContentPart[] parts) => new(ChatRole.Tool, parts);

    [Fact]
    public void WriteRequest_Minimal_UsesUpstreamModelAndDefaultMaxTokens()
    {
        var json = Write(Request(User(new TextPart("Hello"))));

        Assert.Equal(
            """{"model":"claude-upstream","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]}]}""",
            json);
    }

    /// <summary>
    /// A client that gives no max_tokens (OpenAI, Responses and Gemini clients may not) gets the model's own output
    /// maximum up to Claude Code's 32,000: 4096 would cut a long answer or an agent's tool call (a file written whole)
    /// short, and the whole 64K or 128K would count against a lower-tier account's output tokens per minute at the start.
    /// </summary>
    [Theory]
    [InlineData("claude-opus-4-6", 128_000, 32_000)]
    [InlineData("claude-opus-4-7", 128_000, 32_000)]
    [InlineData("anthropic.claude-opus-4-6-v1", 128_000, 32_000)]
    [InlineData("claude-sonnet-4-6", 64_000, 32_000)]
    [InlineData("claude-opus-4-5-20251101", 64_000, 32_000)]
    [InlineData("claude-sonnet-4-5-20250929", 64_000, 32_000)]
    [InlineData("claude-haiku-4-5@20251001", 64_000, 32_000)]
    [InlineData("claude-sonnet-4-20250514", 64_000, 32_000)]
    [InlineData("claude-opus-4-1-20250805", 32_000, 32_000)]
    [InlineData("claude-opus-4-20250514", 32_000, 32_000)]
    [InlineData("claude-3-7-sonnet-latest", 64_000, 32_000)]
    [InlineData("claude-3-5-haiku-20241022", 8192, 8192)]
    [InlineData("us.anthropic.claude-3-5-sonnet-20241022-v2:0", 8192, 8192)]
    [InlineData("claude-3-haiku-20240307", 4096, 4096)]
    [InlineData("claude-3-opus-latest", 4096, 4096)]
    [InlineData("claude-sonnet-5", 64_000, 32_000)]
    [InlineData("glm-4.6", 4096, 4096)]
    [InlineData("claude-upstream", 4096, 4096)]
    public void WriteRequest_NoMaxTokens_ModelsOwnMaximumUpToClaudeCodes(string upstreamModel, int modelMaximum, int expected)
    {
        using var written = System.Text.Json.JsonDocument.Parse(Write(Request(User(new TextPart("Hello"))), upstreamModel));

        Assert.Equal(modelMaximum, AnthropicRequestWriter.MaxOutputTokensOf(upstreamModel));
        Assert.Equal(expected, written.RootElement.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public void WriteRequest_ClientMaxTokens_KeptOverModelsMaximum()
    {
        var json = Write(Request(User(new TextPart("Hello"))) with { MaxOutputTokens = 1000 }, "claude-opus-4-6");

        Assert.Contains("\"max_tokens\":1000,", json, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_AllScalars_AreWritten()
    {
        var request = Request(User(new TextPart("Hi"))) with
        {
            MaxOutputTokens = 256,
            Temperature = 0.5,
            StopSequences = ["END"],
            Stream = true,
            User = "user-7",
        };

        Assert.Equal(
            AnthropicTestJson.Compact("""
                {"model":"claude-upstream","max_tokens":256,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],
                 "temperature":0.5,"stop_sequences":["END"],"stream":true,"metadata":{"user_id":"user-7"}}
                """),
            Write(request));
    }

    [Fact]
    public void WriteRequest_TopPOneWithTemperature_DropsTopP()
    {
        var json = Write(Request(User(new TextPart("Hi"))) with { Temperature = 0.2, TopP = 1 });

        Assert.Contains("\"temperature\":0.2", json, StringComparison.Ordinal);
        Assert.DoesNotContain("top_p", json, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_SystemWithoutCacheControl_IsOneString()
    {
        var json = Write(Request(User(new TextPart("Hi"))) with { System = [new TextPart("One."), new TextPart("Two.")] });

        Assert.Contains("\"system\":\"One.\\n\\nTwo.\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_SystemWithCacheControl_IsBlockArray()
    {
        var cache = new JsonObject { ["type"] = "ephemeral" };
        var json = Write(Request(User(new TextPart("Hi"))) with { System = [new TextPart("One."), new TextPart("Two.", cache)] });

        Assert.Contains(
            "\"system\":[{\"type\":\"text\",\"text\":\"One.\"},{\"type\":\"text\",\"text\":\"Two.\",\"cache_control\":{\"type\":\"ephemeral\"}}]",
            json,
            StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_ConsecutiveSameRoleAndToolMessages_AreMergedWithToolResultsFirst()
    {
        var request = Request(
            User(new TextPart("Weather?")),
            User(new TextPart("In Paris.")),
            Assistant(new TextPart(string.Empty), new ToolCallPart("call_1", "get_weather", """{"city":"Paris"}""")),
            Assistant(new ToolCallPart("call_2", "get_time", "")),
            Tool(new ToolResultPart("call_1", [new TextPart("18C")])),
            Tool(new ToolResultPart("call_2", [new TextPart("boom")], IsError: true)),
            User(new TextPart("Thanks")));

        Assert.Equal(
            AnthropicTestJson.Compact("""
                {"model":"claude-upstream","max_tokens":4096,"messages":[
                  {"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"text","text":"In Paris."}]},
                  {"role":"assistant","content":[
                    {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
                    {"type":"tool_use","id":"call_2","name":"get_time","input":{}}]},
                  {"role":"user","content":[
                    {"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"18C"}]},
                    {"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"boom"}],"is_error":true},
                    {"type":"text","text":"Thanks"}]}]}
                """),
            Write(request));
    }

    [Fact]
    public void WriteRequest_UserTextBeforeToolResults_PutsToolResultsFirst()
    {
        var json = Write(Request(
            Assistant(new ToolCallPart("c", "f", "{}")),
            User(new TextPart("note")),
            Tool(new ToolResultPart("c", [new TextPart("ok")]))));

        Assert.Contains(
            """{"role":"user","content":[{"type":"tool_result","tool_use_id":"c","content":[{"type":"text","text":"ok"}]},{"type":"text","text":"note"}]}""",
            json,
            StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_MessageWithNothingWritable_IsSkippedWithoutBreakingAlternation()
    {
        var json = Write(Request(
            User(new TextPart("a")),
            Assistant(new ThinkingPart("unsigned reasoning")),
            User(new TextPart("b"))));

        Assert.Contains(
            "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}]",
            json,
            StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_ThinkingWithSignature_IsWrittenBeforeText()
    {
        var json = Write(Request(
            User(new TextPart("q")),
            Assistant(new ThinkingPart("because", "sig"), new TextPart("answer"))));

        Assert.Contains(
            """{"role":"assistant","content":[{"type":"thinking","thinking":"because","signature":"sig"},{"type":"text","text":"answer"}]}""",
            json,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("")]
    [InlineData("{\"a\":")]
    public void WriteRequest_ToolArgumentsNotAnObject_WritesEmptyInput(string arguments)
    {
        var json = Write(Request(User(new TextPart("q")), Assistant(new ToolCallPart("c", "f", arguments))));

        Assert.Contains("""{"type":"tool_use","id":"c","name":"f","input":{}}""", json, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_Images_WriteBase64UrlAndDataUrlSources()
    {
        var json = Write(Request(User(
            new ImagePart { MediaType = "image/jpeg", Data = "/9j/" },
            new ImagePart { Url = "https://example.com/a.png", Detail = "high" },
            new ImagePart { Url = "data:image/gif;base64,R0lG", CacheControl = new JsonObject { ["type"] = "ephemeral" } })));

        Assert.Contains(
            AnthropicTestJson.Compact("""
                [{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}},
                 {"type":"image","source":{"type":"url","url":"https://example.com/a.png"}},
                 {"type":"image","source":{"type":"base64","media_type":"image/gif","data":"R0lG"},"cache_control":{"type":"ephemeral"}}]
                """),
            json,
            StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_ToolResultWithImageAndCacheControl_WritesBlocks()
    {
        var json = Write(Request(Tool(new ToolResultPart("c", [new TextPart("chart"), new ImagePart { MediaType = "image/png", Data = "AA" }])
        {
            CacheControl = new JsonObject { ["type"] = "ephemeral" },
        })));

        Assert.Contains(
            """{"type":"tool_result","tool_use_id":"c","content":[{"type":"text","text":"chart"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}}],"cache_control":{"type":"ephemeral"}}""",
            json,
            StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_ToolResultWithoutContent_OmitsContent()
    {
        var json = Write(Request(Tool(new ToolResultPart("c", [new TextPart(string.Empty)]))));

        Assert.Contains("""{"type":"tool_result","tool_use_id":"c"}""", json, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_Tools_WriteSchemaDescriptionAndCacheControl()
    {
        var request = Request(User(new TextPart("q"))) with
        {
            Tools =
            [
                new ToolDefinition("get_weather", "Weather now", new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() })
                {
                    CacheControl = new JsonObject { ["type"] = "ephemeral" },
                },
                new ToolDefinition("ping", null, new JsonObject()),
            ],
        };

        Assert.Contains(
            "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather now\",\"input_schema\":{\"type\":\"object\",\"properties\":{}},\"cache_control\":{\"type\":\"ephemeral\"}},{\"name\":\"ping\",\"input_schema\":{\"type\":\"object\"}}]",
            Write(request),
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ToolChoiceKind.Auto, null, null, """{"type":"auto"}""")]
    [InlineData(ToolChoiceKind.Required, null, null, """{"type":"any"}""")]
    [InlineData(ToolChoiceKind.None, null, null, """{"type":"none"}""")]
    [InlineData(ToolChoiceKind.Tool, "f", null, """{"type":"tool","name":"f"}""")]
    [InlineData(ToolChoiceKind.Tool, "f", false, """{"type":"tool","name":"f","disable_parallel_tool_use":true}""")]
    [InlineData(ToolChoiceKind.Required, null, true, """{"type":"any"}""")]
    [InlineData(ToolChoiceKind.None, null, false, """{"type":"none"}""")]
    public void WriteRequest_ToolChoice_MapsKindAndParallel(object kind, string? name, bool? parallel, string expected)
    {
        var request = Request(User(new TextPart("q"))) with
        {
            Tools = [new ToolDefinition("f", null, new JsonObject { ["type"] = "object" })],
            ToolChoice = new ToolChoice((ToolChoiceKind)kind, name),
            ParallelToolCalls = parallel,
        };

        Assert.EndsWith($",\"tool_choice\":{expected}}}", Write(request), StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_ParallelFalseWithoutChoice_WritesAutoWithDisable()
    {
        var request = Request(User(new TextPart("q"))) with
        {
            Tools = [new ToolDefinition("f", null, new JsonObject { ["type"] = "object" })],
            ParallelToolCalls = false,
        };

        Assert.EndsWith(""","tool_choice":{"type":"auto","disable_parallel_tool_use":true}}""", Write(request), StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_ToolChoiceWithoutTools_IsOmitted()
    {
        var json = Write(Request(User(new TextPart("q"))) with { ToolChoice = new ToolChoice(ToolChoiceKind.Required) });

        Assert.DoesNotContain("tool_choice", json, StringComparison.Ordinal);
    }

    [Fact]
    public void RoundTrip_ReadThenWrite_ReproducesTheClientBody()
    {
        var body = AnthropicTestJson.Compact("""
            {"model":"claude-upstream","max_tokens":1024,
             "system":[{"type":"text","text":"You are helpful.","cache_control":{"type":"ephemeral"}}],
             "messages":[
               {"role":"user","content":[{"type":"text","text":"Weather in Paris?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}]},
               {"role":"assistant","content":[{"type":"thinking","thinking":"Need the tool.","signature":"EqQB"},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris","days":[1,2]}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"18C"}],"is_error":true},{"type":"text","text":"Thanks"}]}],
             "tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
             "tool_choice":{"type":"any","disable_parallel_tool_use":true},
             "temperature":0.7,"stop_sequences":["END"],"stream":true,"metadata":{"user_id":"u1"}}
            """);

        var parsed = AnthropicFormat.Instance.ReadRequest(AnthropicTestJson.Parse(body), null, stream: false);

        Assert.Equal(body, Write(parsed.Value!));
    }
}
