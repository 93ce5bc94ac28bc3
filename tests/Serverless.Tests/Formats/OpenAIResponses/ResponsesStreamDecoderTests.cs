using System.Buffers;
using System.Text;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.OpenAIResponses;
using Serverless.Relay.Formats.Sse;
using Xunit;

namespace Serverless.Tests.Formats.OpenAIResponses;

public sealed class ResponsesStreamDecoderTests
{
    /// <summary>A gpt-5-mini stream with a reasoning summary, text and a function call, as OpenAI sends it (ids shortened).</summary>
    internal const string RecordedStream = """
        event: response.created
        data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_68af","object":"response","created_at":1756310000,"status":"in_progress","background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-5-mini-2025-08-07","output":[],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":"low","summary":"auto"},"store":false,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"},"strict":false}],"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}}

        event: response.in_progress
        data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_68af","object":"response","created_at":1756310000,"status":"in_progress","model":"gpt-5-mini-2025-08-07","output":[],"usage":null}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_68af","type":"reasoning","summary":[]}}

        event: response.reasoning_summary_part.added
        data: {"type":"response.reasoning_summary_part.added","sequence_number":3,"item_id":"rs_68af","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}

        event: response.reasoning_summary_text.delta
        data: {"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_68af","output_index":0,"summary_index":0,"delta":"**Checking weather**","obfuscation":"x1"}

        event: response.reasoning_summary_text.done
        data: {"type":"response.reasoning_summary_text.done","sequence_number":5,"item_id":"rs_68af","output_index":0,"summary_index":0,"text":"**Checking weather**"}

        event: response.reasoning_summary_part.done
        data: {"type":"response.reasoning_summary_part.done","sequence_number":6,"item_id":"rs_68af","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":"**Checking weather**"}}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":7,"output_index":0,"item":{"id":"rs_68af","type":"reasoning","summary":[{"type":"summary_text","text":"**Checking weather**"}]}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":8,"output_index":1,"item":{"id":"msg_68af","type":"message","status":"in_progress","content":[],"role":"assistant"}}

        event: response.content_part.added
        data: {"type":"response.content_part.added","sequence_number":9,"item_id":"msg_68af","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":10,"item_id":"msg_68af","output_index":1,"content_index":0,"delta":"Let me","logprobs":[],"obfuscation":"abc"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":11,"item_id":"msg_68af","output_index":1,"content_index":0,"delta":" check.","logprobs":[],"obfuscation":"de"}

        event: response.output_text.done
        data: {"type":"response.output_text.done","sequence_number":12,"item_id":"msg_68af","output_index":1,"content_index":0,"text":"Let me check.","logprobs":[]}

        event: response.content_part.done
        data: {"type":"response.content_part.done","sequence_number":13,"item_id":"msg_68af","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"Let me check."}}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":14,"output_index":1,"item":{"id":"msg_68af","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Let me check."}],"role":"assistant"}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":15,"output_index":2,"item":{"id":"fc_68af","type":"function_call","status":"in_progress","arguments":"","call_id":"call_Xy1","name":"get_weather"}}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":16,"item_id":"fc_68af","output_index":2,"delta":"{\"city\":","obfuscation":"q"}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":17,"item_id":"fc_68af","output_index":2,"delta":"\"Paris\"}","obfuscation":"r"}

        event: response.function_call_arguments.done
        data: {"type":"response.function_call_arguments.done","sequence_number":18,"item_id":"fc_68af","output_index":2,"arguments":"{\"city\":\"Paris\"}"}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":19,"output_index":2,"item":{"id":"fc_68af","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_Xy1","name":"get_weather"}}

        event: response.completed
        data: {"type":"response.completed","sequence_number":20,"response":{"id":"resp_68af","object":"response","created_at":1756310000,"status":"completed","error":null,"incomplete_details":null,"model":"gpt-5-mini-2025-08-07","output":[{"id":"rs_68af","type":"reasoning","summary":[{"type":"summary_text","text":"**Checking weather**"}]},{"id":"msg_68af","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Let me check."}],"role":"assistant"},{"id":"fc_68af","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_Xy1","name":"get_weather"}],"usage":{"input_tokens":1200,"input_tokens_details":{"cached_tokens":1024},"output_tokens":80,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":1280}}}


        """;

    internal static List<SseEvent> ParseSse(string sse)
    {
        var events = new List<SseEvent>();
        foreach (var block in sse.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = new StringBuilder();
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Append(line["data: ".Length..]);
                }
            }

            if (name is not null || data.Length > 0)
            {
                events.Add(new SseEvent(name, data.ToString()));
            }
        }

        return events;
    }

    private static (List<StreamEvent> Events, RelayError? Error) Decode(string sse, bool complete = true)
    {
        var decoder = OpenAIResponsesFormat.Instance.CreateStreamDecoder();
        var output = new List<StreamEvent>();
        foreach (var sseEvent in ParseSse(sse))
        {
            if (decoder.Decode(sseEvent, output) is { } error)
            {
                return (output, error);
            }
        }

        return (output, complete ? decoder.Complete(output) : null);
    }

    [Fact]
    public void Decode_RecordedStream_EmitsCanonicalEvents()
    {
        var (events, error) = Decode(RecordedStream);

        Assert.Null(error);
        Assert.Equal(
            [
                new MessageStarted("resp_68af", "gpt-5-mini-2025-08-07"),
                new ThinkingStarted(0),
                new ThinkingDelta(0, "**Checking weather**"),
                new BlockStopped(0),
                new TextStarted(1),
                new TextDelta(1, "Let me"),
                new TextDelta(1, " check."),
                new BlockStopped(1),
                new ToolCallStarted(2, "call_Xy1", "get_weather"),
                new ToolArgumentsDelta(2, "{\"city\":"),
                new ToolArgumentsDelta(2, "\"Paris\"}"),
                new BlockStopped(2),
                new UsageReported(new UsageReport { InputTokens = 176, CacheReadTokens = 1024, CacheWriteTokens = 0, OutputTokens = 80, ReasoningTokens = 64 }),
                new MessageFinished(StopReason.ToolUse),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_IncompleteResponse_FinishesWithMaxTokens()
    {
        var (events, error) = Decode("""
            data: {"type":"response.created","response":{"id":"resp_1","model":"gpt-4.1","status":"in_progress"}}

            data: {"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"Trunc"}

            data: {"type":"response.incomplete","response":{"id":"resp_1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":5,"output_tokens":1,"total_tokens":6}}}


            """);

        Assert.Null(error);
        Assert.Equal(
            [
                new MessageStarted("resp_1", "gpt-4.1"),
                new TextStarted(0),
                new TextDelta(0, "Trunc"),
                new BlockStopped(0),
                new UsageReported(new UsageReport { InputTokens = 5, CacheReadTokens = 0, CacheWriteTokens = 0, OutputTokens = 1, ReasoningTokens = 0 }),
                new MessageFinished(StopReason.MaxTokens),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_ServerSkippingPartEvents_ReplaysFinishedItems()
    {
        var (events, error) = Decode("""
            event: response.created
            data: {"type":"response.created","response":{"id":"resp_2","model":"qwen3"}}

            event: response.output_item.done
            data: {"type":"response.output_item.done","output_index":0,"item":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi"}]}}

            event: response.output_item.added
            data: {"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","call_id":"c1","name":"f","arguments":""}}

            event: response.function_call_arguments.done
            data: {"type":"response.function_call_arguments.done","output_index":1,"arguments":"{\"x\":1}"}

            event: response.output_item.done
            data: {"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","call_id":"c1","name":"f","arguments":"{\"x\":1}"}}

            event: response.completed
            data: {"type":"response.completed","response":{"id":"resp_2","status":"completed"}}


            """);

        Assert.Null(error);
        Assert.Equal(
            [
                new MessageStarted("resp_2", "qwen3"),
                new TextStarted(0),
                new TextDelta(0, "Hi"),
                new BlockStopped(0),
                new ToolCallStarted(1, "c1", "f"),
                new ToolArgumentsDelta(1, "{\"x\":1}"),
                new BlockStopped(1),
                new MessageFinished(StopReason.ToolUse),
                MessageStopped.Instance,
            ],
            events);
    }

    [Theory]
    [InlineData("""{"type":"error","sequence_number":3,"code":"rate_limit_exceeded","message":"Slow down.","param":null}""", "RateLimited", "Slow down.", null)]
    [InlineData("""{"type":"error","sequence_number":2,"error":{"type":"invalid_request_error","code":"context_length_exceeded","message":"Too long.","param":"input"}}""", "InvalidRequest", "Too long.", "input")]
    [InlineData("""{"type":"error","error":{"type":"service_unavailable_error","code":null,"message":"Retry later.","param":null}}""", "Upstream", "Retry later.", null)]
    [InlineData("""{"type":"error"}""", "Upstream", "upstream stream error", null)]
    [InlineData("""{"type":"response.failed","response":{"id":"r","status":"failed","error":{"code":"server_error","message":"Model crashed."}}}""", "Upstream", "Model crashed.", null)]
    [InlineData("""not json""", "Upstream", "upstream stream: event data is not JSON", null)]
    [InlineData("""[1]""", "Upstream", "upstream stream: event data is not a JSON object", null)]
    public void Decode_ErrorEvent_ReturnsRelayError(string data, string kind, string message, string? param)
    {
        var decoder = OpenAIResponsesFormat.Instance.CreateStreamDecoder();

        var error = decoder.Decode(new SseEvent("error", data), []);

        Assert.Equal(new RelayError(Enum.Parse<ErrorKind>(kind), message, param), error);
    }

    [Fact]
    public void Complete_WithoutTerminalEvent_ReturnsError()
    {
        var (events, error) = Decode("""
            data: {"type":"response.created","response":{"id":"resp_1","model":"m"}}

            data: {"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"Hal"}


            """);

        Assert.Equal(new RelayError(ErrorKind.Upstream, "upstream stream ended before response.completed"), error);
        Assert.DoesNotContain(events, e => e is MessageStopped);
    }

    [Fact]
    public void Decode_EventsAfterCompletion_AreIgnored()
    {
        var decoder = OpenAIResponsesFormat.Instance.CreateStreamDecoder();
        var output = new List<StreamEvent>();
        decoder.Decode(new SseEvent(null, """{"type":"response.completed","response":{"id":"r","model":"m","status":"completed"}}"""), output);
        output.Clear();

        Assert.Null(decoder.Decode(new SseEvent(null, """{"type":"response.output_text.delta","delta":"late"}"""), output));
        Assert.Null(decoder.Decode(new SseEvent(null, "[DONE]"), output));
        Assert.Null(decoder.Complete(output));
        Assert.Empty(output);
    }

    [Fact]
    public void Decode_EncoderOutput_RoundTripsCanonicalEvents()
    {
        StreamEvent[] original =
        [
            new MessageStarted("resp_rt", "gpt-4.1"),
            new ThinkingStarted(0),
            new ThinkingDelta(0, "hmm"),
            new BlockStopped(0),
            new TextStarted(1),
            new TextDelta(1, "Hello "),
            new TextDelta(1, "there"),
            new BlockStopped(1),
            new ToolCallStarted(2, "call_1", "f"),
            new ToolArgumentsDelta(2, "{}"),
            new BlockStopped(2),
            new UsageReported(new UsageReport { InputTokens = 7, CacheReadTokens = 3, CacheWriteTokens = 0, OutputTokens = 5, ReasoningTokens = 1 }),
            new MessageFinished(StopReason.ToolUse),
            MessageStopped.Instance,
        ];
        var encoder = new OpenAIResponsesFormat(FixedTimeProvider.At1741290958).CreateStreamEncoder(new ChatRequest { Model = "gpt-4.1", Messages = [] });
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var streamEvent in original)
        {
            encoder.Write(streamEvent, buffer);
        }

        var (events, error) = Decode(Encoding.UTF8.GetString(buffer.WrittenSpan));

        Assert.Null(error);
        Assert.Equal(original[..11], events[..11]);
        Assert.Equal(original[11..], events[11..]);
    }
}
