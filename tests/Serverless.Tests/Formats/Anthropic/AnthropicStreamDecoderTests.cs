using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Sse;
using Xunit;

namespace Serverless.Tests.Formats.Anthropic;

public sealed class AnthropicStreamDecoderTests
{
    /// <summary>A thinking + text + tool_use answer in the shape the Messages API streams it (docs example, trimmed).</summary>
    internal const string RecordedStream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_01Dc8sqPHhJzmHzTxPVJ3Vp1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024,"output_tokens":2}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user asks about weather."}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Let me check "}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"the weather."}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":1}

        event: content_block_start
        data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Fra"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"ncisco, CA\"}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":2}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

        event: message_stop
        data: {"type":"message_stop"}


        """;

    internal static IEnumerable<SseEvent> ParseSse(string text)
    {
        foreach (var frame in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = string.Empty;
            foreach (var line in frame.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line["data: ".Length..];
                }
            }

            yield return new SseEvent(name, data);
        }
    }

    internal static (List<StreamEvent> Events, RelayError? Error) Decode(string sse, bool complete = true)
    {
        var decoder = AnthropicFormat.Instance.CreateStreamDecoder();
        var events = new List<StreamEvent>();
        foreach (var sseEvent in ParseSse(sse))
        {
            if (decoder.Decode(sseEvent, events) is { } error)
            {
                return (events, error);
            }
        }

        return (events, complete ? decoder.Complete(events) : null);
    }

    [Fact]
    public void Decode_RecordedStream_ProducesCanonicalEvents()
    {
        var (events, error) = Decode(RecordedStream);

        Assert.Null(error);
        var startUsage = new UsageReport { InputTokens = 472, CacheWriteTokens = 0, CacheReadTokens = 1024, OutputTokens = 2 };
        Assert.Equal(
            [
                new MessageStarted("msg_01Dc8sqPHhJzmHzTxPVJ3Vp1", "claude-sonnet-4-5-20250929", startUsage),
                new UsageReported(startUsage),
                new ThinkingStarted(0),
                new ThinkingDelta(0, "The user asks about weather."),
                new ThinkingSignature(0, "EqQBCgIYAhIM1gbcDa9GJwZA2b3h", ThinkingSigner.Anthropic),
                new BlockStopped(0),
                new TextStarted(1),
                new TextDelta(1, "Let me check "),
                new TextDelta(1, "the weather."),
                new BlockStopped(1),
                new ToolCallStarted(2, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
                new ToolArgumentsDelta(2, "{\"location\": \"San Fra"),
                new ToolArgumentsDelta(2, "ncisco, CA\"}"),
                new BlockStopped(2),
                new UsageReported(new UsageReport { OutputTokens = 89 }),
                new MessageFinished(StopReason.ToolUse),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_RecordedStream_AccumulatesToFinalUsage()
    {
        var (events, _) = Decode(RecordedStream);
        var usage = new UsageAccumulator();
        foreach (var reported in events.OfType<UsageReported>())
        {
            usage.Add(reported.Usage);
        }

        Assert.Equal(new Usage { InputTokens = 472, CacheReadTokens = 1024, OutputTokens = 89 }, usage.Current);
    }

    [Fact]
    public void Decode_MessageDeltaWithFullUsage_ReportsEveryFieldPresent()
    {
        var (events, _) = Decode("""
            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"END"},"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":null,"output_tokens":7}}

            """, complete: false);

        Assert.Equal(
            [
                new UsageReported(new UsageReport { InputTokens = 10, CacheWriteTokens = 5, OutputTokens = 7 }),
                new MessageFinished(StopReason.StopSequence, "END"),
            ],
            events);
    }

    [Fact]
    public void Decode_ServerToolAndRedactedBlocks_AreDroppedWithTheirDeltas()
    {
        var (events, _) = Decode("""
            data: {"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}

            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"x\"}"}}

            data: {"type":"content_block_stop","index":0}

            data: {"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"opaque"}}

            data: {"type":"content_block_stop","index":1}

            data: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":"Hi"}}

            data: {"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{}}}

            """, complete: false);

        Assert.Equal([new TextStarted(2), new TextDelta(2, "Hi")], events);
    }

    [Fact]
    public void Decode_MessageStopWithoutMessageDelta_FinishesWithEndTurn()
    {
        var (events, error) = Decode("""
            event: message_stop
            data: {"type":"message_stop"}

            """);

        Assert.Null(error);
        Assert.Equal([new MessageFinished(StopReason.EndTurn), MessageStopped.Instance], events);
    }

    [Theory]
    [InlineData("overloaded_error", "Overloaded", ErrorKind.Overloaded)]
    [InlineData("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", ErrorKind.RateLimited)]
    [InlineData("api_error", "Internal server error", ErrorKind.Upstream)]
    public void Decode_ErrorEvent_ReturnsErrorOfItsKind(string type, string message, object kind)
    {
        var (_, error) = Decode($$$"""
            event: error
            data: {"type":"error","error":{"type":"{{{type}}}","message":"{{{message}}}"}}

            """);

        Assert.Equal(new RelayError((ErrorKind)kind, message), error);
    }

    [Fact]
    public void Decode_InvalidJson_ReturnsUpstreamError()
    {
        var (_, error) = Decode("""
            event: content_block_delta
            data: {"type":"content_block_delta",

            """);

        Assert.Equal(new RelayError(ErrorKind.Upstream, "upstream stream: event 'content_block_delta' is not valid JSON"), error);
    }

    [Fact]
    public void Complete_BeforeMessageStop_ReturnsError()
    {
        var truncated = RecordedStream[..RecordedStream.IndexOf("event: message_delta", StringComparison.Ordinal)];

        var (events, error) = Decode(truncated);

        Assert.Equal(new RelayError(ErrorKind.Upstream, "upstream stream ended before message_stop"), error);
        Assert.DoesNotContain(MessageStopped.Instance, events);
    }
}
