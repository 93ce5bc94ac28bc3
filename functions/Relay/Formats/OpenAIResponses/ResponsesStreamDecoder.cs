using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>
/// Turns an upstream Responses SSE stream into canonical events. Blocks are keyed by (output_index, content or summary
/// index): each <c>output_text</c>/<c>refusal</c> part is a text block, each summary part a thinking block, each
/// <c>function_call</c> item a tool-call block.
/// </summary>
/// <remarks>
/// Responses-compatible servers (vLLM, OpenRouter, …) are looser than OpenAI: some skip the part events, or send a
/// call's arguments only in its <c>done</c> event. Blocks therefore start lazily on their first delta, and an item whose
/// content never streamed is replayed from its <c>output_item.done</c>.
/// </remarks>
internal sealed class ResponsesStreamDecoder : IStreamDecoder
{
    private static readonly RelayError NotJson = new(ErrorKind.Upstream, "upstream stream: event data is not JSON");

    private readonly List<OpenBlock> _open = [];

    // Output indices that produced at least one block, so a finished item is replayed only when nothing streamed.
    private readonly HashSet<int> _streamedItems = [];

    private int _nextIndex;

    /// <summary>One past the last <c>sequence_number</c> the upstream sent, for a relay that continues its stream.</summary>
    public int NextSequenceNumber { get; private set; }

    /// <summary>The response the upstream's stream started (its id and model), for a relay that continues its stream.</summary>
    public MessageStarted? Started { get; private set; }

    private bool _started;
    private bool _sawToolCall;
    private bool _terminal;

    private enum BlockKind
    {
        Text,
        Summary,
        ReasoningText,
        ToolCall,
    }

    public RelayError? Decode(SseEvent sseEvent, List<StreamEvent> output)
    {
        if (_terminal || sseEvent.IsBlank || sseEvent.TrimmedData.SequenceEqual("[DONE]"u8))
        {
            return null;
        }

        if (JsonFields.ParseEvent(sseEvent.Data, NotJson, out var document) is { } parseError)
        {
            return parseError;
        }

        using (document)
        {
            var data = document.RootElement;
            if (data.ValueKind != JsonValueKind.Object)
            {
                return new RelayError(ErrorKind.Upstream, "upstream stream: event data is not a JSON object");
            }

            if (data.TryGetProperty("sequence_number", out var sequence) && sequence.TryGetInt32(out var number))
            {
                NextSequenceNumber = number + 1;
            }

            var type = JsonFields.GetString(data, "type") ?? sseEvent.Event;
            return Decode(type, data, output);
        }
    }

    /// <remarks>
    /// Text, reasoning and argument deltas, most of a stream, carry no usage: once the stream has started, one named so
    /// is skipped after a token scan for its <c>sequence_number</c>, the one thing a relay that continues the stream
    /// needs from it (<see cref="NextSequenceNumber"/>). Anything else, or a delta the scan cannot read, is decoded.
    /// </remarks>
    public RelayError? Meter(SseEvent sseEvent, List<StreamEvent> output)
    {
        if (!_started || _terminal || !IsDelta(sseEvent.Event) || ReadSequenceNumber(sseEvent.TrimmedData) is not { } sequence)
        {
            return Decode(sseEvent, output);
        }

        NextSequenceNumber = sequence + 1;
        return null;
    }

    private static bool IsDelta(string? name) =>
        name is "response.output_text.delta" or "response.refusal.delta" or "response.reasoning_summary_text.delta"
            or "response.reasoning_text.delta" or "response.function_call_arguments.delta";

    /// <summary>The top-level <c>sequence_number</c> of an event's data, or null when there is none or the data is no JSON object.</summary>
    private static int? ReadSequenceNumber(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isSequence = reader.ValueTextEquals("sequence_number"u8);
                reader.Read();
                if (isSequence)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var number) ? number : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Not JSON: Decode says so.
        }

        return null;
    }

    public RelayError? Complete(List<StreamEvent> output) =>
        _terminal ? null : new RelayError(ErrorKind.Upstream, "upstream stream ended before response.completed");

    private RelayError? Decode(string? type, JsonElement data, List<StreamEvent> output)
    {
        switch (type)
        {
            case "response.created" or "response.queued" or "response.in_progress":
                EnsureStarted(data, output);
                return null;
            case "response.output_item.added":
                EnsureStarted(default, output);
                OnItemAdded(data, output);
                return null;
            case "response.content_part.added":
                EnsureStarted(default, output);
                if (data.TryGetProperty("part", out var part) && JsonFields.GetString(part, "type") is "output_text" or "refusal")
                {
                    StartBlock(BlockKind.Text, OutputIndex(data), Int(data, "content_index"), output);
                }

                return null;
            case "response.output_text.delta" or "response.refusal.delta":
                OnDelta(BlockKind.Text, data, "content_index", output);
                return null;
            case "response.content_part.done":
                StopBlock(BlockKind.Text, OutputIndex(data), Int(data, "content_index"), output);
                return null;
            case "response.reasoning_summary_part.added":
                EnsureStarted(default, output);
                StartBlock(BlockKind.Summary, OutputIndex(data), Int(data, "summary_index"), output);
                return null;
            case "response.reasoning_summary_text.delta":
                OnDelta(BlockKind.Summary, data, "summary_index", output);
                return null;
            case "response.reasoning_summary_part.done":
                StopBlock(BlockKind.Summary, OutputIndex(data), Int(data, "summary_index"), output);
                return null;
            case "response.reasoning_text.delta":
                OnDelta(BlockKind.ReasoningText, data, "content_index", output);
                return null;
            case "response.function_call_arguments.delta":
                OnDelta(BlockKind.ToolCall, data, subIndexName: null, output);
                return null;
            case "response.function_call_arguments.done":
                OnArgumentsDone(data, output);
                return null;
            case "response.output_item.done":
                OnItemDone(data, output);
                return null;
            case "response.completed" or "response.incomplete":
                OnCompleted(data, output);
                return null;
            case "response.failed":
                _terminal = true;
                return data.TryGetProperty("response", out var failed) && failed.ValueKind == JsonValueKind.Object
                    ? ResponsesResponseReader.Failed(failed)
                    : new RelayError(ErrorKind.Upstream, "upstream response failed");
            case "error":
                _terminal = true;
                return ReadErrorEvent(data);
            default:
                // Annotations, built-in tool progress, audio and anything newer have no canonical event.
                return null;
        }
    }

    private void EnsureStarted(JsonElement data, List<StreamEvent> output)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        string? id = null, model = null;
        if (data.ValueKind == JsonValueKind.Object && data.TryGetProperty("response", out var response) && response.ValueKind == JsonValueKind.Object)
        {
            id = JsonFields.GetString(response, "id");
            model = JsonFields.GetString(response, "model");
        }

        Started = new MessageStarted(id ?? string.Empty, model ?? string.Empty);
        output.Add(Started);
    }

    private void OnItemAdded(JsonElement data, List<StreamEvent> output)
    {
        if (!data.TryGetProperty("item", out var item) || JsonFields.GetString(item, "type") != "function_call")
        {
            // Message and reasoning items start their blocks with their first part.
            return;
        }

        var outputIndex = OutputIndex(data);
        var index = Open(BlockKind.ToolCall, outputIndex, 0);
        _sawToolCall = true;
        output.Add(new ToolCallStarted(index, JsonFields.GetString(item, "call_id") ?? string.Empty, JsonFields.GetString(item, "name") ?? string.Empty));
    }

    private void OnDelta(BlockKind kind, JsonElement data, string? subIndexName, List<StreamEvent> output)
    {
        EnsureStarted(default, output);
        var delta = JsonFields.GetString(data, "delta");
        if (string.IsNullOrEmpty(delta))
        {
            return;
        }

        var outputIndex = OutputIndex(data);
        var subIndex = subIndexName is null ? 0 : Int(data, subIndexName);
        var position = Find(kind, outputIndex, subIndex);
        int index;
        if (position >= 0)
        {
            index = _open[position].Index;
            _open[position] = _open[position] with { HadDelta = true };
        }
        else if (kind == BlockKind.ToolCall)
        {
            // Arguments for a call that never announced itself: nothing to attach them to.
            return;
        }
        else
        {
            index = StartBlock(kind, outputIndex, subIndex, output);
            _open[^1] = _open[^1] with { HadDelta = true };
        }

        output.Add(kind switch
        {
            BlockKind.Text => new TextDelta(index, delta),
            BlockKind.ToolCall => new ToolArgumentsDelta(index, delta),
            _ => new ThinkingDelta(index, delta),
        });
    }

    private void OnArgumentsDone(JsonElement data, List<StreamEvent> output)
    {
        var position = Find(BlockKind.ToolCall, OutputIndex(data), 0);
        if (position < 0 || _open[position].HadDelta)
        {
            return;
        }

        // Some servers send the arguments only here.
        if (JsonFields.GetString(data, "arguments") is { Length: > 0 } arguments)
        {
            output.Add(new ToolArgumentsDelta(_open[position].Index, arguments));
            _open[position] = _open[position] with { HadDelta = true };
        }
    }

    private void OnItemDone(JsonElement data, List<StreamEvent> output)
    {
        EnsureStarted(default, output);
        var outputIndex = OutputIndex(data);
        if (!_streamedItems.Contains(outputIndex) && data.TryGetProperty("item", out var item) && item.ValueKind == JsonValueKind.Object)
        {
            ReplayItem(item, outputIndex, output);
        }

        // Stop whatever is still open for this item, in start order.
        for (var i = 0; i < _open.Count;)
        {
            if (_open[i].OutputIndex == outputIndex)
            {
                output.Add(new BlockStopped(_open[i].Index));
                _open.RemoveAt(i);
            }
            else
            {
                i++;
            }
        }
    }

    /// <summary>Emits a finished item's content as blocks when its content never streamed (see the class remarks).</summary>
    private void ReplayItem(JsonElement item, int outputIndex, List<StreamEvent> output)
    {
        var response = ResponsesResponseReader.Read(WrapAsResponse(item));
        if (response.Value is not { } replay)
        {
            return;
        }

        foreach (var part in replay.Content)
        {
            var index = _nextIndex++;
            switch (part)
            {
                case TextPart text:
                    output.Add(new TextStarted(index));
                    output.Add(new TextDelta(index, text.Text));
                    break;
                case ThinkingPart thinking:
                    output.Add(new ThinkingStarted(index));
                    output.Add(new ThinkingDelta(index, thinking.Text));
                    break;
                case ToolCallPart call:
                    _sawToolCall = true;
                    output.Add(new ToolCallStarted(index, call.Id, call.Name));
                    output.Add(new ToolArgumentsDelta(index, call.ArgumentsJson));
                    break;
            }

            output.Add(new BlockStopped(index));
        }

        _streamedItems.Add(outputIndex);
    }

    private static JsonElement WrapAsResponse(JsonElement item)
    {
        // Reuses the response reader's item mapping; only happens for servers that skip the streaming events.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("output");
            item.WriteTo(writer);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private void OnCompleted(JsonElement data, List<StreamEvent> output)
    {
        EnsureStarted(data, output);
        _terminal = true;
        foreach (var block in _open)
        {
            output.Add(new BlockStopped(block.Index));
        }

        _open.Clear();

        var status = "completed";
        var hasToolCall = _sawToolCall;
        if (data.TryGetProperty("response", out var response) && response.ValueKind == JsonValueKind.Object)
        {
            status = JsonFields.GetString(response, "status") ?? status;
            if (response.TryGetProperty("usage", out var usageElement) && usageElement.ValueKind == JsonValueKind.Object)
            {
                output.Add(new UsageReported(UsageReport.From(ResponsesResponseReader.ReadUsage(usageElement))));
            }

            hasToolCall |= HasFunctionCall(response);
        }
        else
        {
            response = default;
        }

        var reason = response.ValueKind == JsonValueKind.Object
            ? ResponsesResponseReader.StopReasonOf(status, response, hasToolCall)
            : hasToolCall ? StopReason.ToolUse : StopReason.EndTurn;
        output.Add(new MessageFinished(reason));
        output.Add(MessageStopped.Instance);
    }

    private static bool HasFunctionCall(JsonElement response)
    {
        if (!response.TryGetProperty("output", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object && JsonFields.GetString(item, "type") == "function_call")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The documented shape has <c>code</c>/<c>message</c>/<c>param</c> at the top level; the live API nests them in
    /// <c>error</c>. Each field is read from the top level first, then from the nested object.
    /// </summary>
    private static RelayError ReadErrorEvent(JsonElement data)
    {
        var nested = data.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object ? error : default;
        string? Field(string name) =>
            JsonFields.GetString(data, name) ?? (nested.ValueKind == JsonValueKind.Object ? JsonFields.GetString(nested, name) : null);

        var code = Field("code");
        var kind = code switch
        {
            "rate_limit_exceeded" => ErrorKind.RateLimited,
            "context_length_exceeded" or "invalid_prompt" => ErrorKind.InvalidRequest,
            _ => ErrorKind.Upstream,
        };
        return new RelayError(kind, Field("message") ?? "upstream stream error", Field("param"));
    }

    private int StartBlock(BlockKind kind, int outputIndex, int subIndex, List<StreamEvent> output)
    {
        var existing = Find(kind, outputIndex, subIndex);
        if (existing >= 0)
        {
            return _open[existing].Index;
        }

        var index = Open(kind, outputIndex, subIndex);
        output.Add(kind == BlockKind.Text ? new TextStarted(index) : new ThinkingStarted(index));
        return index;
    }

    private void StopBlock(BlockKind kind, int outputIndex, int subIndex, List<StreamEvent> output)
    {
        var position = Find(kind, outputIndex, subIndex);
        if (position >= 0)
        {
            output.Add(new BlockStopped(_open[position].Index));
            _open.RemoveAt(position);
        }
    }

    private int Open(BlockKind kind, int outputIndex, int subIndex)
    {
        var index = _nextIndex++;
        _open.Add(new OpenBlock(kind, outputIndex, subIndex, index, HadDelta: false));
        _streamedItems.Add(outputIndex);
        return index;
    }

    private int Find(BlockKind kind, int outputIndex, int subIndex)
    {
        for (var i = 0; i < _open.Count; i++)
        {
            var block = _open[i];
            if (block.Kind == kind && block.OutputIndex == outputIndex && block.SubIndex == subIndex)
            {
                return i;
            }
        }

        return -1;
    }

    private static int OutputIndex(JsonElement data) => Int(data, "output_index");

    private static int Int(JsonElement data, string name) =>
        data.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var value) ? value : 0;

    private readonly record struct OpenBlock(BlockKind Kind, int OutputIndex, int SubIndex, int Index, bool HadDelta);
}
