using System.Buffers;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>
/// Writes canonical stream events as Anthropic Messages SSE frames for one client stream.
/// </summary>
/// <remarks>
/// Anthropic blocks are strictly sequential and numbered 0..n: a block starts, receives deltas and stops before the
/// next one starts. Canonical streams may interleave (OpenAI parallel tool calls) and number blocks with gaps, so this
/// encoder renumbers blocks in output order and closes the open block when another one starts.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Design",
    "CA1001:Types that own disposable fields should be disposable",
    Justification = "Utf8JsonWriter over an ArrayBufferWriter holds no unmanaged resource; encoders are not disposed by their callers.")]
internal sealed class AnthropicStreamEncoder : IStreamEncoder
{
    private readonly UsageAccumulator _usage = new();

    // One JSON writer and buffer per stream, reused for every frame: no writer or closure allocated per delta.
    private readonly ArrayBufferWriter<byte> _frame = new(256);
    private readonly Utf8JsonWriter _json;

    // Canonical index → Anthropic index, for every block started so far. Only _openBlock may still receive deltas.
    private readonly Dictionary<int, int> _blocks = [];
    private int? _openBlock;
    private StopReason _stopReason = StopReason.EndTurn;
    private string? _stopSequence;
    private bool _stopped;

    public AnthropicStreamEncoder()
    {
        _json = new Utf8JsonWriter(_frame, SseWriter.JsonWriterOptions);
    }

    public void Write(StreamEvent streamEvent, IBufferWriter<byte> output)
    {
        if (_stopped)
        {
            return;
        }

        switch (streamEvent)
        {
            case MessageStarted started:
                if (started.Usage is not null)
                {
                    _usage.Add(started.Usage);
                }

                WriteMessageStart(started, output);
                break;
            case TextStarted text:
                if (StartBlock(text.Index, output) is { } textBlock)
                {
                    textBlock.WriteString("type", "text");
                    textBlock.WriteString("text", string.Empty);
                    EndBlockStart(output);
                }

                break;
            case ThinkingStarted thinking:
                if (StartBlock(thinking.Index, output) is { } thinkingBlock)
                {
                    thinkingBlock.WriteString("type", "thinking");
                    thinkingBlock.WriteString("thinking", string.Empty);
                    thinkingBlock.WriteString("signature", string.Empty);
                    EndBlockStart(output);
                }

                break;
            case ToolCallStarted call:
                if (StartBlock(call.Index, output) is { } toolBlock)
                {
                    toolBlock.WriteString("type", "tool_use");
                    toolBlock.WriteString("id", AnthropicWire.ToolUseId(call.Id));
                    toolBlock.WriteString("name", call.Name);
                    toolBlock.WriteStartObject("input");
                    toolBlock.WriteEndObject();
                    AnthropicContentWriter.WriteDirectCaller(toolBlock);
                    EndBlockStart(output);
                }

                break;
            case TextDelta delta:
                WriteDelta(delta.Index, "text_delta", "text", delta.Text, output);
                break;
            case ThinkingDelta delta:
                WriteDelta(delta.Index, "thinking_delta", "thinking", delta.Text, output);
                break;
            case ThinkingSignature signature:
                WriteDelta(signature.Index, "signature_delta", "signature", signature.Signature, output);
                break;
            case ToolArgumentsDelta delta:
                WriteDelta(delta.Index, "input_json_delta", "partial_json", delta.PartialJson, output);
                break;
            case BlockStopped stopped:
                if (_openBlock == stopped.Index)
                {
                    CloseOpenBlock(output);
                }

                break;
            case UsageReported reported:
                _usage.Add(reported.Usage);
                break;
            case MessageFinished finished:
                CloseOpenBlock(output);
                _stopReason = finished.StopReason;
                _stopSequence = finished.StopSequence;
                break;
            case MessageStopped:
                CloseOpenBlock(output);
                WriteMessageEnd(output);
                _stopped = true;
                break;
        }
    }

    public void WriteError(RelayError error, IBufferWriter<byte> output)
    {
        AnthropicErrors.Write(error, BeginFrame());
        EndFrame("error", output);
    }

    private void WriteMessageStart(MessageStarted started, IBufferWriter<byte> output)
    {
        var writer = BeginFrame();
        writer.WriteStartObject();
        writer.WriteString("type", "message_start");
        writer.WriteStartObject("message");
        writer.WriteString("id", started.Id);
        writer.WriteString("type", "message");
        writer.WriteString("role", "assistant");
        writer.WriteString("model", started.Model);
        writer.WriteStartArray("content");
        writer.WriteEndArray();
        writer.WriteNull("stop_reason");
        writer.WriteNull("stop_sequence");
        AnthropicWire.WriteUsage(_usage.Current, writer);
        writer.WriteEndObject();
        writer.WriteEndObject();
        EndFrame("message_start", output);
    }

    /// <summary>
    /// Opens a <c>content_block_start</c> frame up to its <c>content_block</c> object for the caller to fill, or returns null
    /// when the block was already started.
    /// </summary>
    private Utf8JsonWriter? StartBlock(int index, IBufferWriter<byte> output)
    {
        if (_blocks.ContainsKey(index))
        {
            return null;
        }

        CloseOpenBlock(output);
        var outputIndex = _blocks.Count;
        _blocks[index] = outputIndex;
        _openBlock = index;
        var writer = BeginFrame();
        writer.WriteStartObject();
        writer.WriteString("type", "content_block_start");
        writer.WriteNumber("index", outputIndex);
        writer.WriteStartObject("content_block");
        return writer;
    }

    private void EndBlockStart(IBufferWriter<byte> output)
    {
        _json.WriteEndObject();
        _json.WriteEndObject();
        EndFrame("content_block_start", output);
    }

    private void WriteDelta(int index, string deltaType, string field, string value, IBufferWriter<byte> output)
    {
        // NOTE: a delta for a block that is no longer open is dropped. Anthropic clients assemble each block between its
        // start and stop, and the protocol has no way to reopen one; this only happens when an upstream interleaves
        // blocks (OpenAI parallel tool calls), which in practice send each call's arguments contiguously.
        if (_openBlock != index || !_blocks.TryGetValue(index, out var outputIndex))
        {
            return;
        }

        var writer = BeginFrame();
        writer.WriteStartObject();
        writer.WriteString("type", "content_block_delta");
        writer.WriteNumber("index", outputIndex);
        writer.WriteStartObject("delta");
        writer.WriteString("type", deltaType);
        writer.WriteString(field, value);
        writer.WriteEndObject();
        writer.WriteEndObject();
        EndFrame("content_block_delta", output);
    }

    private void CloseOpenBlock(IBufferWriter<byte> output)
    {
        if (_openBlock is not { } open)
        {
            return;
        }

        _openBlock = null;
        var writer = BeginFrame();
        writer.WriteStartObject();
        writer.WriteString("type", "content_block_stop");
        writer.WriteNumber("index", _blocks[open]);
        writer.WriteEndObject();
        EndFrame("content_block_stop", output);
    }

    private void WriteMessageEnd(IBufferWriter<byte> output)
    {
        // Final usage is written here, not on MessageFinished: OpenAI's usage chunk arrives after its finish_reason.
        var writer = BeginFrame();
        writer.WriteStartObject();
        writer.WriteString("type", "message_delta");
        writer.WriteStartObject("delta");
        writer.WriteString("stop_reason", AnthropicWire.WriteStopReason(_stopReason));
        JsonFields.WriteStringOrNull(writer, "stop_sequence", _stopReason == StopReason.StopSequence ? _stopSequence : null);
        writer.WriteEndObject();
        AnthropicWire.WriteUsage(_usage.Current, writer, outputFirst: true);
        writer.WriteEndObject();
        EndFrame("message_delta", output);
        SseWriter.WriteRaw(output, "message_stop", """{"type":"message_stop"}"""u8);
    }

    private Utf8JsonWriter BeginFrame()
    {
        _frame.ResetWrittenCount();
        _json.Reset(_frame);
        return _json;
    }

    private void EndFrame(string eventName, IBufferWriter<byte> output)
    {
        _json.Flush();
        SseWriter.WriteRaw(output, eventName, _frame.WrittenSpan);
    }
}
