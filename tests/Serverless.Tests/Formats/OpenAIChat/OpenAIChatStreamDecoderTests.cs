using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Sse;
using Xunit;
using static Serverless.Tests.Formats.OpenAIChat.OpenAIChatTestSupport;

namespace Serverless.Tests.Formats.OpenAIChat;

public sealed class OpenAIChatStreamDecoderTests
{
    // Recorded from OpenAI with stream_options.include_usage (ids and fingerprints shortened).
    internal const string RecordedTextStream = """
        data: {"id":"chatcmpl-Bx1","object":"chat.completion.chunk","created":1747913844,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_34a","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Bx1","object":"chat.completion.chunk","created":1747913844,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_34a","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Bx1","object":"chat.completion.chunk","created":1747913844,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_34a","choices":[{"index":0,"delta":{"content":" there!"},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Bx1","object":"chat.completion.chunk","created":1747913844,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_34a","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

        data: {"id":"chatcmpl-Bx1","object":"chat.completion.chunk","created":1747913844,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_34a","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":3,"total_tokens":1203,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

        data: [DONE]


        """;

    // Recorded from OpenAI: text, then two parallel tool calls whose arguments arrive in fragments.
    internal const string RecordedToolStream = """
        data: {"id":"chatcmpl-Ty7","object":"chat.completion.chunk","created":1747913900,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Ty7","object":"chat.completion.chunk","created":1747913900,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"content":"Checking."},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Ty7","object":"chat.completion.chunk","created":1747913900,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Ty7","object":"chat.completion.chunk","created":1747913900,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"lo"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Ty7","object":"chat.completion.chunk","created":1747913900,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"cation\": \"Paris\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Ty7","object":"chat.completion.chunk","created":1747913900,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Ty7","object":"chat.completion.chunk","created":1747913900,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"location\": \"Tokyo\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Ty7","object":"chat.completion.chunk","created":1747913900,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}

        data: {"id":"chatcmpl-Ty7","object":"chat.completion.chunk","created":1747913900,"model":"gpt-4.1-2025-04-14","choices":[],"usage":{"prompt_tokens":80,"completion_tokens":45,"total_tokens":125,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

        data: [DONE]


        """;

    [Fact]
    public void Decode_RecordedTextStream_EmitsCanonicalEvents()
    {
        var (events, error) = Decode(RecordedTextStream);

        Assert.Null(error.Value);
        Assert.Equal(
            [
                new MessageStarted("chatcmpl-Bx1", "gpt-4o-mini-2024-07-18"),
                new TextStarted(0),
                new TextDelta(0, "Hello"),
                new TextDelta(0, " there!"),
                new BlockStopped(0),
                new MessageFinished(StopReason.EndTurn),
                new UsageReported(new UsageReport { InputTokens = 176, OutputTokens = 3, CacheReadTokens = 1024, CacheWriteTokens = 0, ReasoningTokens = 0 }),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_RecordedParallelToolCalls_KeepsToolBlocksOpenUntilFinish()
    {
        var (events, error) = Decode(RecordedToolStream);

        Assert.Null(error.Value);
        Assert.Equal(
            [
                new MessageStarted("chatcmpl-Ty7", "gpt-4.1-2025-04-14"),
                new TextStarted(0),
                new TextDelta(0, "Checking."),
                new BlockStopped(0),
                new ToolCallStarted(1, "call_A", "get_weather"),
                new ToolArgumentsDelta(1, "{\"lo"),
                new ToolArgumentsDelta(1, "cation\": \"Paris\"}"),
                new ToolCallStarted(2, "call_B", "get_weather"),
                new ToolArgumentsDelta(2, "{\"location\": \"Tokyo\"}"),
                new BlockStopped(1),
                new BlockStopped(2),
                new MessageFinished(StopReason.ToolUse),
                new UsageReported(new UsageReport { InputTokens = 80, OutputTokens = 45, CacheReadTokens = 0, CacheWriteTokens = 0, ReasoningTokens = 0 }),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_InterleavedToolArguments_RoutesByToolIndex()
    {
        var (events, _) = Decode("""
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\":"}},{"index":1,"id":"b","function":{"name":"g","arguments":"{\"y\":"}}]}}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"2}"}},{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":"tool_calls"}]}

            data: [DONE]
            """);

        Assert.Equal(
            [
                new MessageStarted("c", "m"),
                new ToolCallStarted(0, "a", "f"),
                new ToolArgumentsDelta(0, "{\"x\":"),
                new ToolCallStarted(1, "b", "g"),
                new ToolArgumentsDelta(1, "{\"y\":"),
                new ToolArgumentsDelta(1, "2}"),
                new ToolArgumentsDelta(0, "1}"),
                new BlockStopped(0),
                new BlockStopped(1),
                new MessageFinished(StopReason.ToolUse),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_AzurePromptFilterChunk_IsSkipped()
    {
        var (events, error) = Decode("""
            data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}

            data: {"choices":[{"content_filter_results":{},"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1736407895,"id":"chatcmpl-Az1","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_1"}

            data: {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Hi"},"finish_reason":null,"index":0,"logprobs":null}],"created":1736407895,"id":"chatcmpl-Az1","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk"}

            data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"length","index":0,"logprobs":null}],"created":1736407895,"id":"chatcmpl-Az1","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk"}

            data: {"choices":[{"content_filter_offsets":{"check_offset":0},"content_filter_results":{},"finish_reason":null,"index":0}],"created":0,"id":"","model":"","object":""}

            data: [DONE]
            """);

        Assert.Null(error.Value);
        Assert.Equal(
            [
                new MessageStarted("chatcmpl-Az1", "gpt-4o-2024-11-20"),
                new TextStarted(0),
                new TextDelta(0, "Hi"),
                new BlockStopped(0),
                new MessageFinished(StopReason.MaxTokens),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_UsageOnFinishChunkAndNullUsageElsewhere_ReportsOnce()
    {
        // Together/vLLM style: usage rides on the finish chunk; Ollama style: no [DONE] is needed afterwards either.
        var (events, error) = Decode("""
            data: {"id":"c","model":"llama3","choices":[{"index":0,"delta":{"role":"assistant","content":"Yo"},"finish_reason":null}],"usage":null}

            data: {"id":"c","model":"llama3","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}
            """);

        Assert.Null(error.Value);
        Assert.Equal(
            [
                new MessageStarted("c", "llama3"),
                new TextStarted(0),
                new TextDelta(0, "Yo"),
                new BlockStopped(0),
                new MessageFinished(StopReason.EndTurn),
                new UsageReported(new UsageReport { InputTokens = 9, OutputTokens = 1, CacheReadTokens = 0, CacheWriteTokens = 0 }),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_ReasoningContent_EmitsThinkingBlockBeforeText()
    {
        var (events, _) = Decode("""
            data: {"id":"c","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Let me"},"finish_reason":null}]}

            data: {"id":"c","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"reasoning_content":" think."},"finish_reason":null}]}

            data: {"id":"c","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":"stop"}]}

            data: [DONE]
            """);

        Assert.Equal(
            [
                new MessageStarted("c", "deepseek-reasoner"),
                new ThinkingStarted(0),
                new ThinkingDelta(0, "Let me"),
                new ThinkingDelta(0, " think."),
                new BlockStopped(0),
                new TextStarted(1),
                new TextDelta(1, "42"),
                new BlockStopped(1),
                new MessageFinished(StopReason.EndTurn),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_ToolCallsWithoutIndexOrId_UsePositionAndSynthesizedId()
    {
        // Gemini's OpenAI-compatible endpoint sends whole calls without tool_calls[].index.
        var (events, _) = Decode("""
            data: {"id":"c","model":"gemini-2.5-flash","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{}"},"type":"function"},{"id":"x","function":{"name":"g","arguments":"{\"a\":1}"},"type":"function"}]},"finish_reason":"tool_calls"}]}

            data: [DONE]
            """);

        Assert.Equal(
            [
                new MessageStarted("c", "gemini-2.5-flash"),
                new ToolCallStarted(0, "call_0", "f"),
                new ToolArgumentsDelta(0, "{}"),
                new ToolCallStarted(1, "x", "g"),
                new ToolArgumentsDelta(1, "{\"a\":1}"),
                new BlockStopped(0),
                new BlockStopped(1),
                new MessageFinished(StopReason.ToolUse),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_DoneWithoutFinishReason_FinishesBeforeStopping()
    {
        var (events, error) = Decode("""
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"partial"}}]}

            data: [DONE]
            """);

        Assert.Null(error.Value);
        Assert.Equal(
            [new MessageStarted("c", "m"), new TextStarted(0), new TextDelta(0, "partial"), new BlockStopped(0), new MessageFinished(StopReason.EndTurn), MessageStopped.Instance],
            events);
    }

    [Fact]
    public void Decode_SecondChoice_IsIgnored()
    {
        var (events, _) = Decode("""
            data: {"id":"c","model":"m","choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"length"}]}

            data: [DONE]
            """);

        Assert.Equal(
            [new MessageStarted("c", "m"), new TextStarted(0), new TextDelta(0, "mine"), new BlockStopped(0), new MessageFinished(StopReason.EndTurn), MessageStopped.Instance],
            events);
    }

    [Fact]
    public void Decode_ErrorChunk_ReturnsUpstreamError()
    {
        var (events, error) = Decode("""
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Hel"}}]}

            data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}
            """);

        Assert.Equal(new RelayError(ErrorKind.Upstream, "The server had an error while processing your request."), error.Value);
        Assert.Equal([new MessageStarted("c", "m"), new TextStarted(0), new TextDelta(0, "Hel")], events);
    }

    [Theory]
    [InlineData("data: {not json", "upstream stream event is not valid JSON")]
    [InlineData("data: [1,2]", "upstream stream event is not a JSON object")]
    [InlineData("data: {\"error\":{\"code\":500}}", "upstream stream reported an error")]
    public void Decode_UnreadableEvent_ReturnsUpstreamError(string sse, string message)
    {
        var (_, error) = Decode(sse);

        Assert.Equal(new RelayError(ErrorKind.Upstream, message), error.Value);
    }

    [Theory]
    [InlineData("""data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Hel"}}]}""")]
    [InlineData("")]
    [InlineData("data: [DONE]")]
    public void Complete_BeforeFinish_ReturnsEndedEarlyError(string sse)
    {
        var (_, error) = Decode(sse);

        Assert.Equal(new RelayError(ErrorKind.Upstream, "upstream stream ended before completion"), error.Value);
    }

    [Fact]
    public void Complete_AfterDone_AddsNothing()
    {
        var decoder = Format.CreateStreamDecoder();
        var events = new List<StreamEvent>();
        foreach (var data in DataOf(RecordedTextStream))
        {
            Assert.Null(decoder.Decode(new SseEvent(null, data), events));
        }

        var count = events.Count;

        Assert.Null(decoder.Complete(events));
        Assert.Equal(count, events.Count);
        Assert.Null(decoder.Decode(new SseEvent(null, """{"id":"late","choices":[{"index":0,"delta":{"content":"x"}}]}"""), events));
        Assert.Equal(count, events.Count);
    }

    [Fact]
    public void Decode_KeepAliveAndEmptyData_AreIgnored()
    {
        var decoder = Format.CreateStreamDecoder();
        var events = new List<StreamEvent>();

        Assert.Null(decoder.Decode(new SseEvent(null, ""), events));
        Assert.Null(decoder.Decode(new SseEvent(null, "  "), events));
        Assert.Empty(events);
    }
}
