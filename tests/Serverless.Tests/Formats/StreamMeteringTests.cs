using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Serverless.Relay.Formats.Sse;
using Serverless.Tests.Formats.Anthropic;
using Serverless.Tests.Formats.OpenAIChat;
using Serverless.Tests.Formats.OpenAIResponses;
using Xunit;

namespace Serverless.Tests.Formats;

/// <summary>
/// A same-format stream is metered with <see cref="IStreamDecoder.Meter"/>, which may skip the events that carry only
/// deltas: whatever it skips, the usage, finish reason and error it reports must be the ones <see cref="IStreamDecoder.Decode"/>
/// finds in the same stream.
/// </summary>
public sealed class StreamMeteringTests
{
    private static readonly Dictionary<string, string> OpenAIStreams = new()
    {
        ["recorded text"] = OpenAIChatStreamDecoderTests.RecordedTextStream,
        ["recorded tools"] = OpenAIChatStreamDecoderTests.RecordedToolStream,
        ["usage on the finish chunk, no [DONE]"] = """
            data: {"id":"c","model":"llama3","choices":[{"index":0,"delta":{"role":"assistant","content":"Yo"},"finish_reason":null}],"usage":null}

            data: {"id":"c","model":"llama3","choices":[{"index":0,"delta":{"content":" there"},"finish_reason":null}],"usage":null}

            data: {"id":"c","model":"llama3","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}
            """,
        ["azure filter chunks"] = """
            data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}

            data: {"choices":[{"content_filter_results":{},"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"id":"chatcmpl-Az1","model":"gpt-4o","object":"chat.completion.chunk"}

            data: {"choices":[{"content_filter_results":{"hate":{"filtered":false}},"delta":{"content":"Hi"},"finish_reason":null,"index":0}],"id":"chatcmpl-Az1","model":"gpt-4o","object":"chat.completion.chunk"}

            data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"content_filter","index":0}],"id":"chatcmpl-Az1","model":"gpt-4o","object":"chat.completion.chunk"}

            data: [DONE]
            """,
        ["a second choice finishes first"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"},"finish_reason":null}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":null},{"index":1,"delta":{},"finish_reason":"stop"}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

            data: [DONE]
            """,
        ["an error chunk mid-stream"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"lo"}}]}

            data: {"error":{"message":"The server had an error while processing your request.","type":"server_error"}}
            """,
        ["a lone surrogate in a delta"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"\ud800"}}]}
            """,
        ["escaped text, not a surrogate"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"caf\u00e9 \u0022ok\u0022"}}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

            data: [DONE]
            """,
        ["a delta that is not JSON"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"b"}}]} trailing
            """,
        ["the metered names inside the text"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"},"finish_reason":null}],"usage":null}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"say \"usage\": 5"},"finish_reason":null}],"usage":null}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"\"finish_reason\":\"stop\", \"error\":1"},"finish_reason":null}],"usage":null}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"usage"},"finish_reason":null}],"usage":null}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}

            data: [DONE]
            """,
        ["spaces around the colons"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"},"finish_reason" : null}],"usage" :null}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"b"},"finish_reason" :  "length"}],"usage" : {"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}}

            data: [DONE]
            """,
        ["a name spelled with an escape"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"},"finish_reason":null}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":null}],"\u0075sage":{"prompt_tokens":6,"completion_tokens":2,"total_tokens":8}}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"\u0066inish_reason":"stop"}]}

            data: [DONE]
            """,
        ["a delta cut short"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"b
            """,
        ["ended before its finish"] = """
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"b"}}]}
            """,
    };

    public static TheoryData<string> OpenAIStreamNames() => new(OpenAIStreams.Keys);

    [Theory]
    [MemberData(nameof(OpenAIStreamNames))]
    public void Meter_OpenAIChatStream_ReportsWhatDecodeReports(string name)
    {
        var events = OpenAIChatTestSupport.DataOf(OpenAIStreams[name]).Select(data => new SseEvent(null, data)).ToList();

        var decoded = Run(OpenAIChatTestSupport.Format, events, meter: false);
        var metered = Run(OpenAIChatTestSupport.Format, events, meter: true);

        Assert.Equal(decoded.Error, metered.Error);
        Assert.Equal(MeteringOf(decoded.Events), MeteringOf(metered.Events));
    }

    [Fact]
    public void Meter_OpenAIChatTextChunks_SkippedUnparsed()
    {
        var events = OpenAIChatTestSupport.DataOf(OpenAIChatStreamDecoderTests.RecordedTextStream).Select(data => new SseEvent(null, data)).ToList();

        var metered = Run(OpenAIChatTestSupport.Format, events, meter: true);

        Assert.Null(metered.Error);
        Assert.DoesNotContain(metered.Events, e => e is TextDelta);
        Assert.Contains(new MessageFinished(StopReason.EndTurn), metered.Events);
        var usage = Assert.Single(metered.Events.OfType<UsageReported>()).Usage;
        Assert.Equal((176, 1024, 3), (usage.InputTokens, usage.CacheReadTokens, usage.OutputTokens)); // 1,200 prompt tokens, 1,024 of them cached
    }

    [Fact]
    public void Meter_OpenAIChatEscapedText_SkippedUnlessASurrogate()
    {
        var events = OpenAIChatTestSupport.DataOf(OpenAIStreams["escaped text, not a surrogate"]).Select(data => new SseEvent(null, data)).ToList();

        var metered = Run(OpenAIChatTestSupport.Format, events, meter: true);

        Assert.Null(metered.Error);
        Assert.DoesNotContain(metered.Events, e => e is TextDelta { Text: "café \"ok\"" });
        Assert.Contains(new MessageFinished(StopReason.EndTurn), metered.Events);
    }

    /// <summary>
    /// Seeded random streams as servers write them (either escaping, compact or indented, any order of fields, text that
    /// quotes the metered names): whatever metering skips, it reports what the full read reports.
    /// </summary>
    [Fact]
    public void Meter_OpenAIChatRandomStreams_ReportWhatDecodeReports()
    {
        var random = new Random(20261204);
        string[] pieces = ["usage", "\"usage\": 3", "error", "\"error\":{}", "finish_reason", "\"finish_reason\": \"stop\"", ": null", "null",
            "é", "你好", "\"", "\\", "\\u0075", "{", "}", ":", " ", "a", "\n"];
        for (var stream = 0; stream < 300; stream++)
        {
            var options = new JsonWriterOptions
            {
                Indented = random.Next(4) == 0,
                Encoder = random.Next(2) == 0 ? JavaScriptEncoder.Default : JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            };
            var chunks = random.Next(2, 8);
            var events = new List<SseEvent>();
            for (var i = 0; i < chunks; i++)
            {
                var text = string.Concat(Enumerable.Range(0, random.Next(0, 5)).Select(_ => pieces[random.Next(pieces.Length)]));
                var last = i == chunks - 1;
                events.Add(new SseEvent(null, Chunk(random, options, text, finish: last || random.Next(12) == 0, usage: last || random.Next(12) == 0, error: random.Next(40) == 0)));
            }

            if (random.Next(2) == 0)
            {
                events.Add(new SseEvent(null, "[DONE]"));
            }

            var decoded = Run(OpenAIChatTestSupport.Format, events, meter: false);
            var metered = Run(OpenAIChatTestSupport.Format, events, meter: true);

            Assert.Equal(decoded.Error, metered.Error);
            Assert.Equal(MeteringOf(decoded.Events), MeteringOf(metered.Events));
        }
    }

    private static string Chunk(Random random, JsonWriterOptions options, string text, bool finish, bool usage, bool error)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            json.WriteStartObject();
            var fields = new List<Action>
            {
                () => json.WriteString("id", "chatcmpl-" + random.Next()),
                () => json.WriteString("model", "m"),
                () =>
                {
                    json.WriteStartArray("choices");
                    json.WriteStartObject();
                    json.WriteNumber("index", 0);
                    json.WriteStartObject("delta");
                    json.WriteString("content", text);
                    json.WriteEndObject();
                    if (finish)
                    {
                        json.WriteString("finish_reason", random.Next(2) == 0 ? "stop" : "length");
                    }
                    else if (random.Next(2) == 0)
                    {
                        json.WriteNull("finish_reason");
                    }

                    json.WriteEndObject();
                    json.WriteEndArray();
                },
            };
            if (usage)
            {
                fields.Add(() =>
                {
                    json.WriteStartObject("usage");
                    json.WriteNumber("prompt_tokens", random.Next(1, 100));
                    json.WriteNumber("completion_tokens", random.Next(1, 100));
                    json.WriteEndObject();
                });
            }
            else if (random.Next(2) == 0)
            {
                fields.Add(() => json.WriteNull("usage"));
            }

            if (error)
            {
                fields.Add(() =>
                {
                    json.WriteStartObject("error");
                    json.WriteString("message", text);
                    json.WriteEndObject();
                });
            }

            foreach (var field in fields.OrderBy(_ => random.Next()))
            {
                field();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Meter_OpenAIChatNamesInsideText_SkippedAndUsageStillFound()
    {
        var events = OpenAIChatTestSupport.DataOf(OpenAIStreams["the metered names inside the text"]).Select(data => new SseEvent(null, data)).ToList();

        var metered = Run(OpenAIChatTestSupport.Format, events, meter: true);

        Assert.Null(metered.Error);
        Assert.DoesNotContain(metered.Events, e => e is TextDelta { Text: "say \"usage\": 5" } or TextDelta { Text: "\"finish_reason\":\"stop\", \"error\":1" });
        Assert.Contains(new TextDelta(0, "usage"), metered.Events); // a string "usage" sends its chunk to the full read
        Assert.Contains(new MessageFinished(StopReason.EndTurn), metered.Events);
        var usage = Assert.Single(metered.Events.OfType<UsageReported>()).Usage;
        Assert.Equal((4, 3), (usage.InputTokens, usage.OutputTokens));
    }

    /// <summary>
    /// The one place metering and decoding part: a skipped chunk's JSON is not validated between its braces, so a delta
    /// broken there is forwarded as it came and does not end the stream (one cut short or with text after it does, above).
    /// </summary>
    [Fact]
    public void Meter_OpenAIChatDeltaBrokenInsideItsBraces_ForwardedWithoutAnError()
    {
        var events = OpenAIChatTestSupport.DataOf("""
            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"},"finish_reason":null}]}

            data: {"id":"c" "model":"m","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":null}]}

            data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}

            data: [DONE]
            """).Select(data => new SseEvent(null, data)).ToList();

        var decoded = Run(OpenAIChatTestSupport.Format, events, meter: false);
        var metered = Run(OpenAIChatTestSupport.Format, events, meter: true);

        Assert.NotNull(decoded.Error);
        Assert.Null(metered.Error);
        var usage = Assert.Single(metered.Events.OfType<UsageReported>()).Usage;
        Assert.Equal((1, 2), (usage.InputTokens, usage.OutputTokens));
    }

    [Fact]
    public void Meter_AnthropicRecordedStream_ReportsWhatDecodeReportsWithoutTheDeltas()
    {
        var events = AnthropicStreamDecoderTests.ParseSse(AnthropicStreamDecoderTests.RecordedStream).ToList();

        var decoded = Run(AnthropicFormat.Instance, events, meter: false);
        var metered = Run(AnthropicFormat.Instance, events, meter: true);

        Assert.Null(metered.Error);
        Assert.Equal(MeteringOf(decoded.Events), MeteringOf(metered.Events));
        Assert.NotEmpty(MeteringOf(metered.Events).OfType<UsageReported>());
        Assert.DoesNotContain(metered.Events, e => e is TextDelta or ToolArgumentsDelta);
    }

    [Fact]
    public void Meter_AnthropicErrorEvent_EndsTheStreamAsDecodeDoes()
    {
        var events = AnthropicStreamDecoderTests.ParseSse("""
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

            event: error
            data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}


            """).ToList();

        var decoded = Run(AnthropicFormat.Instance, events, meter: false);
        var metered = Run(AnthropicFormat.Instance, events, meter: true);

        Assert.NotNull(metered.Error);
        Assert.Equal(decoded.Error, metered.Error);
        Assert.Equal(MeteringOf(decoded.Events), MeteringOf(metered.Events));
    }

    [Fact]
    public void Meter_ResponsesRecordedStream_ReportsWhatDecodeReportsAndKeepsTheSequence()
    {
        var events = ResponsesStreamDecoderTests.ParseSse(ResponsesStreamDecoderTests.RecordedStream);
        var decoder = OpenAIResponsesFormat.Instance.CreateStreamDecoder();
        var meter = OpenAIResponsesFormat.Instance.CreateStreamDecoder();
        var decoded = new List<StreamEvent>();
        var metered = new List<StreamEvent>();

        var skipped = 0;
        foreach (var sseEvent in events)
        {
            var before = metered.Count;
            Assert.Equal(decoder.Decode(sseEvent, decoded), meter.Meter(sseEvent, metered));
            if (sseEvent.Event!.EndsWith(".delta", StringComparison.Ordinal))
            {
                // A delta comes out of the meter as nothing (the done events may still replay text; nothing reads it).
                Assert.Equal(before, metered.Count);
                skipped++;
            }

            // A relay that must end the stream with its own error continues the upstream's numbering from here.
            Assert.Equal(((ResponsesStreamDecoder)decoder).NextSequenceNumber, ((ResponsesStreamDecoder)meter).NextSequenceNumber);
        }

        Assert.Equal(decoder.Complete(decoded), meter.Complete(metered));
        Assert.Equal(MeteringOf(decoded), MeteringOf(metered));
        Assert.NotEmpty(MeteringOf(metered).OfType<UsageReported>());
        Assert.True(skipped > 0);
    }

    [Fact]
    public void Meter_ResponsesDeltaWithoutSequenceNumber_DecodedAsBefore()
    {
        var events = ResponsesStreamDecoderTests.ParseSse("""
            event: response.created
            data: {"type":"response.created","response":{"id":"resp_1","model":"m","status":"in_progress"}}

            event: response.output_text.delta
            data: {"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"Hi"}

            event: response.output_text.delta
            data: not json


            """);

        var decoded = Run(OpenAIResponsesFormat.Instance, events, meter: false);
        var metered = Run(OpenAIResponsesFormat.Instance, events, meter: true);

        Assert.NotNull(metered.Error);
        Assert.Equal(decoded.Error, metered.Error);
        Assert.Contains(metered.Events, e => e is TextDelta);
    }

    private static (List<StreamEvent> Events, RelayError? Error) Run(IChatFormat format, List<SseEvent> events, bool meter)
    {
        var decoder = format.CreateStreamDecoder();
        var output = new List<StreamEvent>();
        foreach (var sseEvent in events)
        {
            if ((meter ? decoder.Meter(sseEvent, output) : decoder.Decode(sseEvent, output)) is { } error)
            {
                return (output, error);
            }
        }

        return (output, decoder.Complete(output));
    }

    private static List<StreamEvent> MeteringOf(List<StreamEvent> events) =>
        [.. events.Where(e => e is UsageReported or MessageFinished or MessageStopped)];
}
