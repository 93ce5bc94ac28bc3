using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using static Serverless.Tests.Formats.OpenAIChat.OpenAIChatTestSupport;
using Xunit;

namespace Serverless.Tests.Formats.OpenAIChat;

public sealed class OpenAIChatRequestWriterTests
{
    private static readonly ChatRequest Conversation = new()
    {
        Model = "client-model",
        System = [new TextPart("Be brief.")],
        Messages =
        [
            new ChatMessage(ChatRole.User,
            [
                new TextPart("Describe"),
                new ImagePart { Url = "https://example.com/a.png", Detail = "low" },
                new ImagePart { MediaType = "image/png", Data = "iVBORw0KGgo=" },
            ]),
            new ChatMessage(ChatRole.Assistant,
            [
                new ThinkingPart("need weather", "sig"),
                new ToolCallPart("call_1", "get_weather", """{"city":"Paris"}"""),
                new ToolCallPart("call_2", "get_time", "{}"),
            ]),
            new ChatMessage(ChatRole.Tool,
            [
                new ToolResultPart("call_1", [new TextPart("18C")], ToolName: "get_weather"),
                new ToolResultPart("call_2", [new TextPart("12:00"), new TextPart(" UTC")], IsError: true),
            ]),
            new ChatMessage(ChatRole.Assistant, [new TextPart("It is "), new TextPart("18C.")]),
        ],
        Tools = [new ToolDefinition("get_weather", "Weather by city", new JsonObject { ["type"] = "object" })],
        ToolChoice = new ToolChoice(ToolChoiceKind.Required),
        ParallelToolCalls = true,
        Temperature = 0.5,
        TopP = 1,
        MaxOutputTokens = 1000,
        StopSequences = ["END", "STOP"],
        Stream = true,
        StreamUsage = false,
        User = "u-1",
    };

    /// <summary>
    /// OpenAI's reasoning models refuse sampling settings ("Unsupported value: 'temperature' does not support 0.2 with
    /// this model"), which Gemini CLI and Anthropic clients send by habit: left out for them, kept for the others.
    /// </summary>
    [Theory]
    [InlineData("gpt-5", false)]
    [InlineData("gpt-5-mini-2025-08-07", false)]
    [InlineData("openai/gpt-5.1", false)]
    [InlineData("o3", false)]
    [InlineData("o4-mini", false)]
    [InlineData("o1-2024-12-17", false)]
    [InlineData("gpt-5-chat-latest", true)]
    [InlineData("gpt-4o", true)]
    [InlineData("llama3.1:8b", true)]
    [InlineData("omni-moderation", true)]
    public void WriteRequest_ReasoningModel_LeavesOutSamplingSettings(string upstreamModel, bool written)
    {
        var request = new ChatRequest
        {
            Model = "m",
            Messages = [new ChatMessage(ChatRole.User, [new TextPart("hi")])],
            Temperature = 0.2,
            TopP = 0.9,
            PresencePenalty = 0.5,
            FrequencyPenalty = 0.5,
            Seed = 7,
        };

        var json = Parse(Write(writer => Format.WriteRequest(request, upstreamModel, writer)));

        foreach (var field in new[] { "temperature", "top_p", "presence_penalty", "frequency_penalty" })
        {
            Assert.Equal(written, json.TryGetProperty(field, out _));
        }

        Assert.Equal(7, json.GetProperty("seed").GetInt32());
    }

    /// <summary>
    /// OpenAI refuses more output tokens than a model's maximum ("max_tokens is too large: 32000. This model supports
    /// at most 16384 completion tokens"), and Claude Code asks for 32,000 or 64,000 on every request: a known model,
    /// with a router's prefix or without, gets its maximum; a smaller request and an unknown name keep the client's value.
    /// </summary>
    [Theory]
    [InlineData("gpt-4o", 32000, 16384)]
    [InlineData("gpt-4o-mini-2024-07-18", 64000, 16384)]
    [InlineData("openai/gpt-4o", 32000, 16384)]
    [InlineData("chatgpt-4o-latest", 32000, 16384)]
    [InlineData("gpt-4o-2024-05-13", 32000, 4096)]
    [InlineData("gpt-4.1", 64000, 32768)]
    [InlineData("gpt-4.1-nano", 64000, 32768)]
    [InlineData("gpt-4-turbo", 32000, 4096)]
    [InlineData("gpt-4", 32000, 8192)]
    [InlineData("gpt-3.5-turbo", 32000, 4096)]
    [InlineData("o1", 128000, 100000)]
    [InlineData("o1-mini", 128000, 65536)]
    [InlineData("o3", 128000, 100000)]
    [InlineData("o4-mini", 128000, 100000)]
    [InlineData("gpt-5", 200000, 128000)]
    [InlineData("gpt-5-mini", 64000, 64000)]
    [InlineData("gpt-5-chat-latest", 32000, 16384)]
    [InlineData("gpt-4o", 16384, 16384)]
    [InlineData("gpt-4o", 1000, 1000)]
    [InlineData("my-gpt-deployment", 64000, 64000)]
    [InlineData("llama3.1:8b", 64000, 64000)]
    public void WriteRequest_MaxOutputTokensAboveModelMaximum_Capped(string upstreamModel, int requested, int written)
    {
        var request = new ChatRequest { Model = "m", Messages = [new ChatMessage(ChatRole.User, [new TextPart("hi")])], MaxOutputTokens = requested };

        var json = Parse(Write(writer => Format.WriteRequest(request, upstreamModel, writer)));

        Assert.Equal(written, json.GetProperty("max_completion_tokens").GetInt32());
    }

    [Fact]
    public void WriteRequest_Conversation_WritesExactBody()
    {
        var json = Write(writer => Format.WriteRequest(Conversation, "gpt-4o-2024-08-06", writer));

        Assert.Equal(Compact("""
            {
              "model": "gpt-4o-2024-08-06",
              "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                  {"type": "text", "text": "Describe"},
                  {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
                  {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                  {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                  {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "Error: 12:00"}, {"type": "text", "text": " UTC"}]},
                {"role": "assistant", "content": "It is 18C."}
              ],
              "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city", "parameters": {"type": "object"}}}],
              "tool_choice": "required",
              "parallel_tool_calls": true,
              "temperature": 0.5,
              "top_p": 1,
              "max_completion_tokens": 1000,
              "stop": ["END", "STOP"],
              "stream": true,
              "stream_options": {"include_usage": true},
              "user": "u-1"
            }
            """), json);
    }

    [Fact]
    public void WriteRequest_CompatibleDialect_WritesMaxTokensAndCacheControl()
    {
        var request = new ChatRequest
        {
            Model = "m",
            System = [new TextPart("long system prompt", new JsonObject { ["type"] = "ephemeral" })],
            Messages =
            [
                new ChatMessage(ChatRole.User, [new TextPart("doc", new JsonObject { ["type"] = "ephemeral" })]),
                new ChatMessage(ChatRole.Assistant, [new TextPart("ok", new JsonObject { ["type"] = "ephemeral" })]),
            ],
            MaxOutputTokens = 50,
        };

        var compatible = Write(writer => CompatibleFormat.WriteRequest(request, "llama3", writer));
        var openAI = Write(writer => Format.WriteRequest(request, "gpt-4o", writer));

        Assert.Equal(Compact("""
            {"model":"llama3","messages":[
              {"role":"system","content":[{"type":"text","text":"long system prompt","cache_control":{"type":"ephemeral"}}]},
              {"role":"user","content":[{"type":"text","text":"doc","cache_control":{"type":"ephemeral"}}]},
              {"role":"assistant","content":[{"type":"text","text":"ok","cache_control":{"type":"ephemeral"}}]}
            ],"max_tokens":50}
            """), compatible);
        Assert.Equal(Compact("""
            {"model":"gpt-4o","messages":[
              {"role":"system","content":"long system prompt"},
              {"role":"user","content":"doc"},
              {"role":"assistant","content":"ok"}
            ],"max_completion_tokens":50}
            """), openAI);
    }

    [Theory]
    [InlineData("Auto", null, "\"auto\"")]
    [InlineData("None", null, "\"none\"")]
    [InlineData("Required", null, "\"required\"")]
    [InlineData("Tool", "f", """{"type":"function","function":{"name":"f"}}""")]
    public void WriteRequest_ToolChoice_WritesOpenAIForm(string kind, string? name, string expected)
    {
        var request = new ChatRequest
        {
            Model = "m",
            Messages = [new ChatMessage(ChatRole.User, [new TextPart("hi")])],
            Tools = [new ToolDefinition("f", null, new JsonObject())],
            ToolChoice = new ToolChoice(Enum.Parse<ToolChoiceKind>(kind), name),
        };

        var json = Write(writer => Format.WriteRequest(request, "m", writer));

        Assert.Equal(
            """{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":""" + expected + "}",
            json);
    }

    [Fact]
    public void WriteRequest_ToolChoiceWithoutTools_OmitsToolFields()
    {
        var request = new ChatRequest
        {
            Model = "m",
            Messages = [new ChatMessage(ChatRole.User, [new TextPart("hi")])],
            ToolChoice = new ToolChoice(ToolChoiceKind.None),
            ParallelToolCalls = false,
        };

        var json = Write(writer => Format.WriteRequest(request, "m", writer));

        Assert.Equal("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", json);
    }

    [Fact]
    public void WriteRequest_UserTurnWithToolResultsAndText_WritesToolMessagesFirst()
    {
        // Anthropic-style user turn: results plus a follow-up remark in one message.
        var request = new ChatRequest
        {
            Model = "m",
            Messages =
            [
                new ChatMessage(ChatRole.Assistant, [new TextPart("Checking."), new ToolCallPart("t1", "f", "{}")]),
                new ChatMessage(ChatRole.User,
                [
                    new ToolResultPart("t1", [new TextPart("done"), new ImagePart { Url = "https://x/y.png" }]),
                    new TextPart("and now?"),
                ]),
                new ChatMessage(ChatRole.Assistant, [new ThinkingPart("hmm")]),
                new ChatMessage(ChatRole.Tool, [new ToolResultPart("t2", [])]),
            ],
        };

        var json = Write(writer => Format.WriteRequest(request, "m", writer));

        Assert.Equal(Compact("""
            {"model":"m","messages":[
              {"role":"assistant","content":"Checking.","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"t1","content":"done"},
              {"role":"user","content":[{"type":"text","text":"Returned by tool call t1:"},{"type":"image_url","image_url":{"url":"https://x/y.png"}},{"type":"text","text":"and now?"}]},
              {"role":"assistant","content":""},
              {"role":"tool","tool_call_id":"t2","content":""}
            ]}
            """), json);
    }

    /// <summary>
    /// A tool message has no error flag: an Anthropic client's failed call (Claude Code's <c>is_error: true</c> on a
    /// command that failed) reaches the model with its text starting <c>Error: </c>, not as if the call had worked.
    /// </summary>
    [Theory]
    [InlineData("\"exit code 1\"", "\"Error: exit code 1\"")]
    [InlineData("""[{"type":"text","text":"not found"},{"type":"text","text":" (ENOENT)"}]""", """[{"type":"text","text":"Error: not found"},{"type":"text","text":" (ENOENT)"}]""")]
    [InlineData("[]", "\"Error\"")]
    public void WriteRequest_AnthropicToolResultIsError_ContentStartsWithError(string resultContent, string expectedContent)
    {
        var parsed = Serverless.Relay.Formats.Anthropic.AnthropicFormat.Instance.ReadRequest(Parse($$$"""
            {"model":"m","max_tokens":10,"messages":[
              {"role":"user","content":"run it"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls x"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":true,"content":{{{resultContent}}}}]}
            ]}
            """), modelFromPath: null, stream: false);
        Assert.Null(parsed.Error);

        var json = Write(writer => Format.WriteRequest(parsed.Value!, "gpt-4o", writer));

        Assert.Contains(Compact("""{"role":"tool","tool_call_id":"toolu_1","content":""" + expectedContent + "}"), json, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_NotStreaming_OmitsStreamOptions()
    {
        var request = new ChatRequest { Model = "m", Messages = [new ChatMessage(ChatRole.User, [new TextPart("hi")])], StreamUsage = true };

        var json = Write(writer => Format.WriteRequest(request, "m", writer));

        Assert.Equal("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", json);
    }

    [Fact]
    public void WriteRequest_ReadBack_RoundTripsTheClientBody()
    {
        // A body already in the writer's own shape comes back byte for byte (model aside, which the route chooses).
        var body = Compact("""
            {
              "model": "gpt-4o",
              "messages": [
                {"role": "system", "content": "sys"},
                {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lGOD", "detail": "auto"}}]},
                {"role": "assistant", "content": "Calling.", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"q\":\"x\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "result"},
                {"role": "user", "content": "more"}
              ],
              "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
              "tool_choice": {"type": "function", "function": {"name": "f"}},
              "parallel_tool_calls": false,
              "temperature": 0.7,
              "top_p": 0.5,
              "max_completion_tokens": 64,
              "stop": ["x"],
              "stream": true,
              "stream_options": {"include_usage": true},
              "user": "u"
            }
            """);

        var request = ReadRequest(body);
        var written = Write(writer => Format.WriteRequest(request, request.Model, writer));

        Assert.Equal(body, written);
    }
}
