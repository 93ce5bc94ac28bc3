using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Xunit;
using Sdk = global::Anthropic.Models.Messages;

namespace Serverless.Tests.Formats.Anthropic;

public sealed class AnthropicStreamEncoderTests
{
    private static readonly ChatRequest Request = new() { Model = "m", Messages = [], Stream = true };

    private static string Encode(params StreamEvent[] events)
    {
        var encoder = AnthropicFormat.Instance.CreateStreamEncoder(Request);
        var output = new ArrayBufferWriter<byte>();
        foreach (var streamEvent in events)
        {
            encoder.Write(streamEvent, output);
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static string Frame(string name, string data) => $"event: {name}\ndata: {data}\n\n";

    [Fact]
    public void Write_TextStreamWithLateUsage_WritesExactFrames()
    {
        var sse = Encode(
            new MessageStarted("chatcmpl-1", "gpt-4o"),
            new TextStarted(0),
            new TextDelta(0, "Hello"),
            new TextDelta(0, " world"),
            new BlockStopped(0),
            new MessageFinished(StopReason.EndTurn),
            new UsageReported(new UsageReport { InputTokens = 11, OutputTokens = 2, CacheReadTokens = 4 }),
            MessageStopped.Instance);

        Assert.Equal(
            Frame("message_start", """{"type":"message_start","message":{"id":"chatcmpl-1","type":"message","role":"assistant","model":"gpt-4o","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}""")
            + Frame("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""")
            + Frame("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}""")
            + Frame("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world"}}""")
            + Frame("content_block_stop", """{"type":"content_block_stop","index":0}""")
            + Frame("message_delta", """{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2,"input_tokens":11,"cache_creation_input_tokens":0,"cache_read_input_tokens":4}}""")
            + Frame("message_stop", """{"type":"message_stop"}"""),
            sse);
    }

    [Fact]
    public void Write_MessageStartedWithUsage_WritesItInMessageStart()
    {
        var sse = Encode(new MessageStarted("msg_1", "claude", new UsageReport { InputTokens = 20, CacheWriteTokens = 7, OutputTokens = 1 }));

        Assert.Equal(
            Frame("message_start", """{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":1,"cache_creation_input_tokens":7,"cache_read_input_tokens":0}}}"""),
            sse);
    }

    [Fact]
    public void Write_ThinkingAndToolBlocksWithGaps_RenumbersAndWritesDeltas()
    {
        var sse = Encode(
            new MessageStarted("msg_1", "claude"),
            new ThinkingStarted(3),
            new ThinkingDelta(3, "hmm"),
            new ThinkingSignature(3, "sig"),
            new BlockStopped(3),
            new ToolCallStarted(7, "toolu_1", "get_weather"),
            new ToolArgumentsDelta(7, "{\"city\":"),
            new ToolArgumentsDelta(7, "\"Paris\"}"),
            new BlockStopped(7),
            new MessageFinished(StopReason.ToolUse),
            MessageStopped.Instance);

        var frames = sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
            [
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}",
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}",
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{},\"caller\":{\"type\":\"direct\"}}}",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}",
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}",
                "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":0,\"input_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}",
            ],
            frames[1..^1]);
    }

    [Fact]
    public void Write_BlockStartsWhileAnotherIsOpen_StopsTheOpenOneAndDropsItsLateDeltas()
    {
        // OpenAI parallel tool calls: call 1 starts before call 0 is stopped, then a late fragment for call 0 arrives.
        var sse = Encode(
            new ToolCallStarted(0, "call_a", "a"),
            new ToolArgumentsDelta(0, "{}"),
            new ToolCallStarted(1, "call_b", "b"),
            new ToolArgumentsDelta(0, "late"),
            new ToolArgumentsDelta(1, "{\"x\":1}"),
            new BlockStopped(0),
            new BlockStopped(1),
            new BlockStopped(1));

        Assert.Equal(
            Frame("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"call_a","name":"a","input":{},"caller":{"type":"direct"}}}""")
            + Frame("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}}""")
            + Frame("content_block_stop", """{"type":"content_block_stop","index":0}""")
            + Frame("content_block_start", """{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_b","name":"b","input":{},"caller":{"type":"direct"}}}""")
            + Frame("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"x\":1}"}}""")
            + Frame("content_block_stop", """{"type":"content_block_stop","index":1}"""),
            sse);
    }

    [Fact]
    public void Write_MessageFinishedWithBlockOpen_StopsBlockAndKeepsStopSequence()
    {
        var sse = Encode(
            new TextStarted(0),
            new TextDelta(0, "a"),
            new MessageFinished(StopReason.StopSequence, "END"),
            new UsageReported(new UsageReport { OutputTokens = 3 }),
            MessageStopped.Instance,
            new TextDelta(0, "after stop"));

        Assert.EndsWith(
            Frame("content_block_stop", """{"type":"content_block_stop","index":0}""")
            + Frame("message_delta", """{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"END"},"usage":{"output_tokens":3,"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}""")
            + Frame("message_stop", """{"type":"message_stop"}"""),
            sse,
            StringComparison.Ordinal);
    }

    [Fact]
    public void WriteError_WritesErrorEvent()
    {
        var encoder = AnthropicFormat.Instance.CreateStreamEncoder(Request);
        var output = new ArrayBufferWriter<byte>();

        encoder.WriteError(new RelayError(ErrorKind.Overloaded, "Overloaded"), output);

        Assert.Equal(
            Frame("error", """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""),
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Write_DecodedRecordedStream_ReencodesToTheSameEvents()
    {
        var (events, _) = AnthropicStreamDecoderTests.Decode(AnthropicStreamDecoderTests.RecordedStream);

        var (reDecoded, error) = AnthropicStreamDecoderTests.Decode(Encode([.. events]));

        Assert.Null(error);
        // The re-encoded message_delta repeats the full usage, so only the usage reports differ.
        Assert.Equal(events.Where(e => e is not UsageReported), reDecoded.Where(e => e is not UsageReported));
        Assert.Equal(
            new UsageReport { OutputTokens = 89, InputTokens = 472, CacheWriteTokens = 0, CacheReadTokens = 1024 },
            reDecoded.OfType<UsageReported>().Last().Usage);
    }

    [Fact]
    public void Write_EveryFrame_IsAcceptedByTheAnthropicSdk()
    {
        var (events, _) = AnthropicStreamDecoderTests.Decode(AnthropicStreamDecoderTests.RecordedStream);
        var sse = Encode([.. events]);

        var parsed = new List<Sdk::RawMessageStreamEvent>();
        foreach (var frame in AnthropicStreamDecoderTests.ParseSse(sse))
        {
            var streamEvent = JsonSerializer.Deserialize<Sdk::RawMessageStreamEvent>(frame.Data.Span)!;
            streamEvent.Validate();
            parsed.Add(streamEvent);
        }

        Assert.Equal(15, parsed.Count);
        Assert.True(parsed[0].TryPickStart(out var start));
        Assert.Equal("msg_01Dc8sqPHhJzmHzTxPVJ3Vp1", start.Message.ID);
        Assert.Equal(472, start.Message.Usage.InputTokens);
        Assert.Equal(1024, start.Message.Usage.CacheReadInputTokens);
        Assert.True(parsed[1].TryPickContentBlockStart(out var thinkingStart));
        Assert.True(thinkingStart.ContentBlock.TryPickThinking(out _));
        Assert.True(parsed[3].TryPickContentBlockDelta(out var signature));
        Assert.True(signature.Delta.TryPickSignature(out var signatureDelta));
        Assert.Equal("EqQBCgIYAhIM1gbcDa9GJwZA2b3h", signatureDelta.Signature);
        Assert.True(parsed[6].TryPickContentBlockDelta(out var text));
        Assert.True(text.Delta.TryPickText(out var textDelta));
        Assert.Equal("Let me check ", textDelta.Text);
        Assert.True(parsed[9].TryPickContentBlockStart(out var toolStart));
        Assert.True(toolStart.ContentBlock.TryPickToolUse(out var toolUse));
        Assert.Equal(("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", 2L), (toolUse.ID, toolUse.Name, toolStart.Index));
        Assert.True(parsed[10].TryPickContentBlockDelta(out var json));
        Assert.True(json.Delta.TryPickInputJson(out var inputJson));
        Assert.Equal("{\"location\": \"San Fra", inputJson.PartialJson);
        Assert.True(parsed[13].TryPickDelta(out var messageDelta));
        Assert.Equal(Sdk::StopReason.ToolUse, messageDelta.Delta.StopReason!.Value());
        Assert.Equal(89, messageDelta.Usage.OutputTokens);
        Assert.Equal(472, messageDelta.Usage.InputTokens);
        Assert.True(parsed[14].TryPickStop(out _));
    }
}
