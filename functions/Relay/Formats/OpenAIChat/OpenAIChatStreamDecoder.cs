using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>
/// Turns an upstream stream of <c>chat.completion.chunk</c>s into canonical events. Text and reasoning blocks close as
/// soon as another kind of block starts; tool-call blocks stay open until the finish, because OpenAI may interleave the
/// argument fragments of parallel calls.
/// </summary>
internal sealed class OpenAIChatStreamDecoder : IStreamDecoder
{
    private static readonly RelayError NotJson = new(ErrorKind.Upstream, "upstream stream event is not valid JSON");

    private const int None = -1;

    // Upstream tool_calls[].index → canonical block index; a handful of entries per stream.
    private readonly Dictionary<int, int> _toolBlocks = [];
    private readonly List<int> _openToolBlocks = [];
    private int _nextBlock;
    private int _textBlock = None;
    private int _thinkingBlock = None;
    private bool _started;
    private bool _finished;
    private bool _done;

    public RelayError? Decode(SseEvent sseEvent, List<StreamEvent> output)
    {
        var data = sseEvent.TrimmedData;
        if (_done || data.IsEmpty)
        {
            return null;
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            _done = true;
            if (!_started)
            {
                return EndedEarly();
            }

            // A server that ends without a finish_reason still ended normally once it says [DONE].
            Finish(StopReason.EndTurn, output);
            output.Add(MessageStopped.Instance);
            return null;
        }

        if (JsonFields.ParseEvent(sseEvent.Data, NotJson, out var document) is { } parseError)
        {
            return parseError;
        }

        using (document)
        {
            var chunk = document.RootElement;
            if (chunk.ValueKind != JsonValueKind.Object)
            {
                return new RelayError(ErrorKind.Upstream, "upstream stream event is not a JSON object");
            }

            if (chunk.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
            {
                return new RelayError(ErrorKind.Upstream, OpenAIChatWire.ReadErrorMessage(chunk) ?? "upstream stream reported an error");
            }

            var hasChoices = chunk.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array
                && choices.GetArrayLength() > 0;
            var hasUsage = chunk.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object;

            if (!_started)
            {
                // NOTE: Azure OpenAI opens with a prompt_filter_results chunk that has no id, model or choices; skip it.
                if (!hasChoices && !hasUsage)
                {
                    return null;
                }

                _started = true;
                output.Add(new MessageStarted(
                    JsonFields.GetString(chunk, "id") ?? string.Empty,
                    JsonFields.GetString(chunk, "model") ?? string.Empty));
            }

            if (hasChoices)
            {
                foreach (var choice in choices.EnumerateArray())
                {
                    // n > 1 is not part of the canonical model: only the first choice is relayed.
                    if (choice.ValueKind == JsonValueKind.Object && (JsonFields.GetInt64(choice, "index") ?? 0) == 0)
                    {
                        DecodeChoice(choice, output);
                    }
                }
            }

            if (hasUsage)
            {
                output.Add(new UsageReported(OpenAIChatWire.ReadUsage(usage)));
            }
        }

        return null;
    }

    /// <remarks>
    /// Most of a stream is chunks of text deltas. Once the stream has started, a chunk with no usage, no error and no
    /// finish reason is skipped after a scan of its JSON tokens: no document, no strings.
    /// </remarks>
    public RelayError? Meter(SseEvent sseEvent, List<StreamEvent> output) =>
        _started && !_finished && IsDeltaOnly(sseEvent.TrimmedData) ? null : Decode(sseEvent, output);

    /// <summary>
    /// Whether a chunk holds nothing metering reads: a JSON object whose <c>usage</c> and <c>error</c> are absent or
    /// null and whose every choice's <c>finish_reason</c> is absent or null. Anything else (an escaped surrogate, which
    /// <see cref="Decode"/> refuses, included) is left to <see cref="Decode"/>.
    /// </summary>
    private static bool IsDeltaOnly(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || data[0] != (byte)'{' || JsonFields.HasSurrogateEscape(data))
        {
            return false;
        }

        var reader = new Utf8JsonReader(data);
        try
        {
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("usage"u8) || reader.ValueTextEquals("error"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.Null)
                    {
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    if (!ChoicesAreUnfinished(ref reader))
                    {
                        return false;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Reads the <c>choices</c> value the reader is at: true when no choice has a finish reason.</summary>
    private static bool ChoicesAreUnfinished(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return true;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var finishReason = reader.ValueTextEquals("finish_reason"u8);
                reader.Read();
                if (finishReason && reader.TokenType != JsonTokenType.Null)
                {
                    return false;
                }

                reader.Skip();
            }
        }

        return true;
    }

    public RelayError? Complete(List<StreamEvent> output)
    {
        if (_done)
        {
            return null;
        }

        // Some compatible servers close the body after the finish chunk without sending [DONE].
        if (_finished)
        {
            _done = true;
            output.Add(MessageStopped.Instance);
            return null;
        }

        return EndedEarly();
    }

    private void DecodeChoice(JsonElement choice, List<StreamEvent> output)
    {
        if (_finished)
        {
            return;
        }

        // Azure's content-filter annotation chunks carry a choice without a delta.
        if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
        {
            if ((JsonFields.GetString(delta, "reasoning_content") ?? JsonFields.GetString(delta, "reasoning")) is { Length: > 0 } reasoning)
            {
                if (_thinkingBlock == None)
                {
                    CloseText(output);
                    _thinkingBlock = _nextBlock++;
                    output.Add(new ThinkingStarted(_thinkingBlock));
                }

                output.Add(new ThinkingDelta(_thinkingBlock, reasoning));
            }

            // The first chunk carries content "" with the role; a block only starts on real text.
            AppendText(JsonFields.GetString(delta, "content"), output);
            AppendText(JsonFields.GetString(delta, "refusal"), output);

            if (delta.TryGetProperty("tool_calls", out var toolCalls) && toolCalls.ValueKind == JsonValueKind.Array)
            {
                var position = 0;
                foreach (var toolCall in toolCalls.EnumerateArray())
                {
                    DecodeToolCall(toolCall, position++, output);
                }
            }
        }

        if (JsonFields.GetString(choice, "finish_reason") is { } finishReason)
        {
            Finish(OpenAIChatWire.ReadFinishReason(finishReason), output);
        }
    }

    private void AppendText(string? text, List<StreamEvent> output)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        if (_textBlock == None)
        {
            CloseThinking(output);
            _textBlock = _nextBlock++;
            output.Add(new TextStarted(_textBlock));
        }

        output.Add(new TextDelta(_textBlock, text));
    }

    private void DecodeToolCall(JsonElement toolCall, int position, List<StreamEvent> output)
    {
        if (toolCall.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        // NOTE: Gemini's OpenAI endpoint and some others omit tool_calls[].index; the position in the array stands in.
        var index = (int)(JsonFields.GetInt64(toolCall, "index") ?? position);
        toolCall.TryGetProperty("function", out var function);
        var hasFunction = function.ValueKind == JsonValueKind.Object;

        if (!_toolBlocks.TryGetValue(index, out var block))
        {
            CloseText(output);
            CloseThinking(output);
            block = _nextBlock++;
            _toolBlocks[index] = block;
            _openToolBlocks.Add(block);
            var id = JsonFields.GetString(toolCall, "id") is { Length: > 0 } given ? given : $"call_{index}";
            var name = hasFunction ? JsonFields.GetString(function, "name") ?? string.Empty : string.Empty;
            output.Add(new ToolCallStarted(block, id, name));
        }

        if (hasFunction && JsonFields.GetString(function, "arguments") is { Length: > 0 } arguments)
        {
            output.Add(new ToolArgumentsDelta(block, arguments));
        }
    }

    private void Finish(StopReason stopReason, List<StreamEvent> output)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        CloseThinking(output);
        CloseText(output);
        foreach (var block in _openToolBlocks)
        {
            output.Add(new BlockStopped(block));
        }

        _openToolBlocks.Clear();
        output.Add(new MessageFinished(stopReason));
    }

    private void CloseText(List<StreamEvent> output)
    {
        if (_textBlock != None)
        {
            output.Add(new BlockStopped(_textBlock));
            _textBlock = None;
        }
    }

    private void CloseThinking(List<StreamEvent> output)
    {
        if (_thinkingBlock != None)
        {
            output.Add(new BlockStopped(_thinkingBlock));
            _thinkingBlock = None;
        }
    }

    private static RelayError EndedEarly() => new(ErrorKind.Upstream, "upstream stream ended before completion");
}
