using System.ClientModel.Primitives;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;
using Xunit;
using static Serverless.Tests.Formats.OpenAIChat.OpenAIChatTestSupport;

namespace Serverless.Tests.Formats.OpenAIChat;

public sealed class OpenAIChatResponseTests
{
    // Recorded from OpenAI (ids shortened): a tool-calling answer with prompt caching and reasoning tokens.
    internal const string RecordedToolCallResponse = """
        {
          "id": "chatcmpl-BZ7sKq",
          "object": "chat.completion",
          "created": 1747913844,
          "model": "gpt-4.1-2025-04-14",
          "choices": [{
            "index": 0,
            "message": {
              "role": "assistant",
              "content": "Let me check.",
              "refusal": null,
              "tool_calls": [
                {"id": "call_lQ1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
                {"id": "call_x9Z", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Tokyo\"}"}}
              ],
              "annotations": []
            },
            "logprobs": null,
            "finish_reason": "tool_calls"
          }],
          "usage": {
            "prompt_tokens": 1834,
            "completion_tokens": 58,
            "total_tokens": 1892,
            "prompt_tokens_details": {"cached_tokens": 1536, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
          },
          "service_tier": "default",
          "system_fingerprint": "fp_b3f1157249"
        }
        """;

    [Fact]
    public void ReadResponse_RecordedToolCalls_MapsContentStopReasonAndUsage()
    {
        var parsed = Format.ReadResponse(Parse(RecordedToolCallResponse));

        var response = parsed.Value!;
        Assert.Equal("chatcmpl-BZ7sKq", response.Id);
        Assert.Equal("gpt-4.1-2025-04-14", response.Model);
        Assert.Equal(1747913844, response.Created);
        Assert.Equal(
            [
                new TextPart("Let me check."),
                new ToolCallPart("call_lQ1", "get_weather", """{"location":"Paris"}"""),
                new ToolCallPart("call_x9Z", "get_weather", """{"location":"Tokyo"}"""),
            ],
            response.Content);
        Assert.Equal(StopReason.ToolUse, response.StopReason);

        // prompt_tokens includes the cached ones; canonical input does not.
        Assert.Equal(new Usage { InputTokens = 298, CacheReadTokens = 1536, OutputTokens = 58, ReasoningTokens = 12 }, response.Usage);
        Assert.Equal(1834, response.Usage.TotalInputTokens);
    }

    [Theory]
    [InlineData("\"stop\"", "EndTurn")]
    [InlineData("null", "EndTurn")]
    [InlineData("\"length\"", "MaxTokens")]
    [InlineData("\"tool_calls\"", "ToolUse")]
    [InlineData("\"function_call\"", "ToolUse")]
    [InlineData("\"content_filter\"", "ContentFilter")]
    [InlineData("\"eos\"", "Other")]
    public void ReadResponse_FinishReason_MapsStopReason(string finishReason, string expected)
    {
        var parsed = Format.ReadResponse(Parse($$"""
            {"id":"c","object":"chat.completion","created":1,"model":"m",
             "choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":{{finishReason}}}]}
            """));

        Assert.Equal(Enum.Parse<StopReason>(expected), parsed.Value!.StopReason);
    }

    [Fact]
    public void ReadResponse_CompatibleServerExtras_ReadsReasoningRefusalAndCacheWrites()
    {
        // DeepSeek-style reasoning_content, a refusal, a tool call without id, and OpenRouter's cache_write_tokens.
        var parsed = Format.ReadResponse(Parse("""
            {"id":"gen-1","object":"chat.completion","created":5,"model":"anthropic/claude-sonnet-4",
             "choices":[{"index":0,"message":{"role":"assistant","content":"","reasoning_content":"thinking...","refusal":"Sorry.",
               "tool_calls":[{"type":"function","function":{"name":"f","arguments":{"a":1}}}]},"finish_reason":"stop"},
               {"index":1,"message":{"role":"assistant","content":"second choice"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":194,"completion_tokens":2,"total_tokens":196,
               "prompt_tokens_details":{"cached_tokens":50,"cache_write_tokens":100}}}
            """));

        var response = parsed.Value!;
        Assert.Equal([new ThinkingPart("thinking..."), new TextPart("Sorry."), new ToolCallPart("call_0", "f", """{"a":1}""")], response.Content);
        Assert.Equal(new Usage { InputTokens = 44, CacheReadTokens = 50, CacheWriteTokens = 100, OutputTokens = 2 }, response.Usage);
    }

    [Theory]
    [InlineData("[]", "upstream chat.completion: must be a JSON object")]
    [InlineData("""{"id":"x"}""", "upstream chat.completion: choices: field required")]
    [InlineData("""{"choices":[]}""", "upstream chat.completion: choices: must contain at least one choice")]
    [InlineData("""{"choices":[{"index":0,"finish_reason":"stop"}]}""", "upstream chat.completion: choices[0].message: field required")]
    [InlineData("""{"choices":[{"message":{"tool_calls":[{"id":"c","function":{}}]}}]}""", "upstream chat.completion: choices[0].message.tool_calls[0]: must have function.name")]
    [InlineData("""{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","code":"model_not_found"}}""", "The model `gpt-9` does not exist")]
    public void ReadResponse_Unusable_ReturnsUpstreamError(string body, string message)
    {
        var parsed = Format.ReadResponse(Parse(body));

        Assert.Null(parsed.Value);
        Assert.Equal(new RelayError(ErrorKind.Upstream, message), parsed.Error);
    }

    [Theory]
    [InlineData("""{"error":{"message":"Rate limit reached","type":"requests"}}""", "Rate limit reached")]
    [InlineData("""{"error":"model not found"}""", "model not found")]
    [InlineData("""{"detail":"nope"}""", null)]
    [InlineData("\"text\"", null)]
    public void ReadErrorMessage_Body_ExtractsMessage(string body, string? expected)
    {
        Assert.Equal(expected, Format.ReadErrorMessage(Parse(body)));
    }

    [Fact]
    public void WriteResponse_ToolCallAnswer_WritesExactBody()
    {
        var response = new ChatResponse
        {
            Id = "msg_01",
            Model = "claude-sonnet-4",
            Created = 1700000000,
            Content =
            [
                new ThinkingPart("hidden", "sig"),
                new TextPart("Checking "),
                new TextPart("both."),
                new ToolCallPart("toolu_1", "get_weather", """{"location":"Paris"}"""),
            ],
            StopReason = StopReason.ToolUse,
            Usage = new Usage { InputTokens = 10, CacheReadTokens = 100, CacheWriteTokens = 20, OutputTokens = 30, ReasoningTokens = 5 },
        };

        var json = Write(writer => Format.WriteResponse(response, AnswerOnly.Request, writer));

        Assert.Equal(Compact("""
            {"id":"msg_01","object":"chat.completion","created":1700000000,"model":"claude-sonnet-4",
             "choices":[{"index":0,
               "message":{"role":"assistant","content":"Checking both.","refusal":null,"reasoning_content":"hidden",
                 "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}],
                 "annotations":[]},
               "logprobs":null,"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":130,"completion_tokens":30,"total_tokens":160,
               "prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":20},
               "completion_tokens_details":{"reasoning_tokens":5}}}
            """), json);
    }

    /// <summary>
    /// A call to one of the client's custom tools (declared upstream as a function taking one string) goes back as
    /// openai-python's <c>ChatCompletionMessageCustomToolCall</c>, its input the string; function calls stay as they are.
    /// </summary>
    [Fact]
    public void WriteResponse_CallToCustomTool_WritesCustomToolCall()
    {
        var request = AnswerOnly.Request with
        {
            Tools =
            [
                new ToolDefinition("apply_patch", null, OpenAICustomTool.InputSchema()) { IsCustom = true },
                new ToolDefinition("get_weather", null, ToolDefinition.NoParameters()),
            ],
        };
        var response = new ChatResponse
        {
            Id = "msg_01",
            Model = "claude-sonnet-4",
            Created = 1700000000,
            Content =
            [
                new ToolCallPart("toolu_1", "apply_patch", """{"input":"*** Begin Patch\n+café \"q\"\n*** End Patch"}"""),
                new ToolCallPart("toolu_2", "get_weather", """{"input":"Paris"}"""),
            ],
            StopReason = StopReason.ToolUse,
        };

        var json = Parse(Write(writer => Format.WriteResponse(response, request, writer)));

        var calls = json.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls");
        Assert.Equal(
            Compact("""{"id":"toolu_1","type":"custom","custom":{"name":"apply_patch","input":"*** Begin Patch\n+caf\u00E9 \u0022q\u0022\n*** End Patch"}}"""),
            calls[0].GetRawText());
        Assert.Equal("*** Begin Patch\n+café \"q\"\n*** End Patch", calls[0].GetProperty("custom").GetProperty("input").GetString());
        Assert.Equal("function", calls[1].GetProperty("type").GetString());
        Assert.Equal("""{"input":"Paris"}""", calls[1].GetProperty("function").GetProperty("arguments").GetString());
    }

    [Theory]
    [InlineData("EndTurn", "stop")]
    [InlineData("StopSequence", "stop")]
    [InlineData("MaxTokens", "length")]
    [InlineData("ToolUse", "tool_calls")]
    [InlineData("ContentFilter", "content_filter")]
    [InlineData("Other", "stop")]
    public void WriteResponse_StopReason_WritesFinishReason(string stopReason, string expected)
    {
        var response = new ChatResponse
        {
            Id = "c",
            Model = "m",
            Content = [],
            StopReason = Enum.Parse<StopReason>(stopReason),
            StopSequence = "END",
        };

        var json = Parse(Write(writer => Format.WriteResponse(response, AnswerOnly.Request, writer)));

        Assert.Equal(expected, json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").ValueKind);

        // An answer without its own creation time is stamped now.
        Assert.Equal(Now, json.GetProperty("created").GetInt64());
    }

    [Fact]
    public void WriteResponse_OfficialSdk_ReadsTextToolCallsUsageAndFinishReason()
    {
        var response = new ChatResponse
        {
            Id = "chatcmpl-relay",
            Model = "gpt-4o",
            Created = 1700000000,
            Content = [new TextPart("Sure."), new ToolCallPart("call_1", "lookup", """{"q":"weather"}""")],
            StopReason = StopReason.ToolUse,
            Usage = new Usage { InputTokens = 12, CacheReadTokens = 1024, OutputTokens = 40, ReasoningTokens = 16 },
        };

        var json = Write(writer => Format.WriteResponse(response, AnswerOnly.Request, writer));
        var completion = ModelReaderWriter.Read<OpenAI.Chat.ChatCompletion>(BinaryData.FromString(json))!;

        Assert.Equal("chatcmpl-relay", completion.Id);
        Assert.Equal("gpt-4o", completion.Model);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), completion.CreatedAt);
        Assert.Equal(OpenAI.Chat.ChatMessageRole.Assistant, completion.Role);
        Assert.Equal("Sure.", Assert.Single(completion.Content).Text);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal(("call_1", "lookup", """{"q":"weather"}"""), (call.Id, call.FunctionName, call.FunctionArguments.ToString()));
        Assert.Equal(1036, completion.Usage.InputTokenCount);
        Assert.Equal(1024, completion.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(40, completion.Usage.OutputTokenCount);
        Assert.Equal(16, completion.Usage.OutputTokenDetails.ReasoningTokenCount);
        Assert.Equal(1076, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public void WriteResponse_ReadBack_RoundTripsRecordedBody()
    {
        var first = Format.ReadResponse(Parse(RecordedToolCallResponse)).Value!;

        var written = Write(writer => Format.WriteResponse(first, AnswerOnly.Request, writer));
        var second = Format.ReadResponse(Parse(written)).Value!;

        Assert.Equal(first.Content, second.Content);
        Assert.Equal(first with { Content = second.Content }, second);
    }
}
