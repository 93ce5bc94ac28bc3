using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>
/// Writes canonical events as <c>chat.completion.chunk</c> frames for one client stream, the way OpenAI streams them:
/// a role chunk, content (thinking as <c>reasoning_content</c>) and tool-call deltas, a finish chunk, then (when asked for) a usage chunk and <c>[DONE]</c>.
/// </summary>
internal sealed class OpenAIChatStreamEncoder : IStreamEncoder
{
    private readonly bool _streamUsage;
    private readonly long _created;
    private readonly IReadOnlyList<ToolDefinition> _tools;
    private readonly UsageAccumulator _usage = new();

    // Canonical block index → the tool call's ordinal in this answer, which is what OpenAI calls tool_calls[].index.
    private readonly Dictionary<int, int> _toolOrdinals = [];

    // Canonical block index → the arguments so far of a call to one of the client's custom tools, whose input goes out
    // whole when the call ends (OpenAICustomTool); null until the first such call.
    private Dictionary<int, StringBuilder>? _customCalls;
    private string? _customInput;

    // Cached delegates plus the event they should write, so writing a frame allocates no closure.
    private readonly Action<Utf8JsonWriter> _writeChunk;
    private readonly Action<Utf8JsonWriter> _writeUsageChunk;
    private readonly Action<Utf8JsonWriter> _writeErrorChunk;
    private StreamEvent? _current;
    private RelayError? _error;

    private string _id = string.Empty;
    private string _model = string.Empty;
    private bool _started;
    private bool _finished;
    private bool _stopped;

    public OpenAIChatStreamEncoder(ChatRequest request, long created)
    {
        _streamUsage = request.StreamUsage;
        _created = created;
        _tools = request.Tools;
        _writeChunk = WriteChunk;
        _writeUsageChunk = WriteUsageChunk;
        _writeErrorChunk = WriteErrorChunk;
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
                _id = started.Id;
                _model = started.Model;
                if (started.Usage is { } initialUsage)
                {
                    _usage.Add(initialUsage);
                }

                Emit(streamEvent, output);
                _started = true;
                break;
            case ToolArgumentsDelta { Index: var customBlock } customArguments when _customCalls?.GetValueOrDefault(customBlock) is { } input:
                input.Append(customArguments.PartialJson);
                break;
            case ThinkingDelta { Text.Length: 0 }:
                break;
            case TextDelta or ToolArgumentsDelta or ThinkingDelta:
                EnsureStarted(output);
                if (streamEvent is not ToolArgumentsDelta { Index: var argumentsBlock } || _toolOrdinals.ContainsKey(argumentsBlock))
                {
                    Emit(streamEvent, output);
                }

                break;
            case ToolCallStarted toolCall:
                EnsureStarted(output);
                _toolOrdinals[toolCall.Index] = _toolOrdinals.Count;
                if (OpenAIChatWire.IsCustomTool(_tools, toolCall.Name))
                {
                    (_customCalls ??= [])[toolCall.Index] = new StringBuilder();
                }

                Emit(streamEvent, output);
                break;
            case BlockStopped stopped:
                EndCustomCall(stopped.Index, output);
                break;
            case UsageReported reported:
                _usage.Add(reported.Usage);
                break;
            case MessageFinished:
                EnsureStarted(output);
                EndCustomCalls(output);
                if (!_finished)
                {
                    _finished = true;
                    Emit(streamEvent, output);
                }

                break;
            case MessageStopped:
                EnsureStarted(output);
                EndCustomCalls(output);
                if (!_finished)
                {
                    // A stream must not end without a finish_reason; SDKs treat that as truncated.
                    _finished = true;
                    Emit(new MessageFinished(StopReason.EndTurn), output);
                }

                if (_streamUsage)
                {
                    SseWriter.WriteJson(output, null, _writeUsageChunk);
                }

                SseWriter.WriteRaw(output, null, "[DONE]"u8);
                _stopped = true;
                break;

            // Other block boundaries have no frame of their own, and a thinking signature has no place in Chat Completions.
        }
    }

    public void WriteError(RelayError error, IBufferWriter<byte> output)
    {
        if (_stopped)
        {
            return;
        }

        _error = error;
        SseWriter.WriteJson(output, null, _writeErrorChunk);
        _stopped = true;
    }

    private void EnsureStarted(IBufferWriter<byte> output)
    {
        if (!_started)
        {
            _started = true;
            Emit(new MessageStarted(_id, _model), output);
        }
    }

    /// <summary>
    /// The input of a call to a custom tool, whole, in one delta: the upstream streams the arguments object
    /// (<c>{"input":"…"}</c>) in fragments, whose string cannot be cut out of a fragment reliably (escapes, a split key).
    /// </summary>
    private void EndCustomCall(int block, IBufferWriter<byte> output)
    {
        if (_customCalls is null || !_customCalls.Remove(block, out var arguments))
        {
            return;
        }

        _customInput = OpenAICustomTool.InputOf(arguments.ToString());
        Emit(new BlockStopped(block), output);
        _customInput = null;
    }

    /// <summary>Ends the custom calls still open when the answer finishes (an upstream that closes no block).</summary>
    private void EndCustomCalls(IBufferWriter<byte> output)
    {
        if (_customCalls is not { Count: > 0 })
        {
            return;
        }

        foreach (var block in _customCalls.Keys.Order().ToList())
        {
            EndCustomCall(block, output);
        }
    }

    private void Emit(StreamEvent streamEvent, IBufferWriter<byte> output)
    {
        _current = streamEvent;
        SseWriter.WriteJson(output, null, _writeChunk);
        _current = null;
    }

    private void WriteChunk(Utf8JsonWriter writer)
    {
        WriteChunkHeader(writer);
        writer.WriteStartArray("choices");
        writer.WriteStartObject();
        writer.WriteNumber("index", 0);
        writer.WriteStartObject("delta");
        string? finishReason = null;
        switch (_current)
        {
            case MessageStarted:
                writer.WriteString("role", "assistant");
                writer.WriteString("content", string.Empty);
                writer.WriteNull("refusal");
                break;
            case TextDelta text:
                writer.WriteString("content", text.Text);
                break;
            case ThinkingDelta thinking:
                // Chat Completions has no place for thinking: reasoning_content, as DeepSeek and vLLM stream it.
                writer.WriteString("reasoning_content", thinking.Text);
                break;
            case ToolCallStarted toolCall:
                // A custom tool's call as OpenAI streams one: its type and name first, then its input.
                var custom = _customCalls?.ContainsKey(toolCall.Index) == true;
                writer.WriteStartArray("tool_calls");
                writer.WriteStartObject();
                writer.WriteNumber("index", _toolOrdinals[toolCall.Index]);
                writer.WriteString("id", toolCall.Id);
                writer.WriteString("type", custom ? "custom" : "function");
                writer.WriteStartObject(custom ? "custom" : "function");
                writer.WriteString("name", toolCall.Name);
                writer.WriteString(custom ? "input" : "arguments", string.Empty);
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteEndArray();
                break;
            case BlockStopped stopped:
                writer.WriteStartArray("tool_calls");
                writer.WriteStartObject();
                writer.WriteNumber("index", _toolOrdinals[stopped.Index]);
                writer.WriteStartObject("custom");
                writer.WriteString("input", _customInput);
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteEndArray();
                break;
            case ToolArgumentsDelta arguments:
                writer.WriteStartArray("tool_calls");
                writer.WriteStartObject();
                writer.WriteNumber("index", _toolOrdinals[arguments.Index]);
                writer.WriteStartObject("function");
                writer.WriteString("arguments", arguments.PartialJson);
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteEndArray();
                break;
            case MessageFinished finished:
                finishReason = OpenAIChatWire.WriteFinishReason(finished.StopReason);
                break;
        }

        writer.WriteEndObject();
        writer.WriteNull("logprobs");
        if (finishReason is null)
        {
            writer.WriteNull("finish_reason");
        }
        else
        {
            writer.WriteString("finish_reason", finishReason);
        }

        writer.WriteEndObject();
        writer.WriteEndArray();

        // With include_usage OpenAI puts "usage": null on every chunk but the last; clients may rely on the key.
        if (_streamUsage)
        {
            writer.WriteNull("usage");
        }

        writer.WriteEndObject();
    }

    private void WriteUsageChunk(Utf8JsonWriter writer)
    {
        WriteChunkHeader(writer);
        writer.WriteStartArray("choices");
        writer.WriteEndArray();
        OpenAIChatWire.WriteUsageProperty(_usage.Current, writer);
        writer.WriteEndObject();
    }

    private void WriteErrorChunk(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        OpenAIErrors.WriteErrorProperty(_error!, writer);
        writer.WriteEndObject();
    }

    private void WriteChunkHeader(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("id", _id);
        writer.WriteString("object", "chat.completion.chunk");
        writer.WriteNumber("created", _created);
        writer.WriteString("model", _model);
    }
}
