using System.Globalization;
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

    private static ReadOnlySpan<byte> JsonWhitespace => " \t\r\n"u8;

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
    /// finish reason is skipped after a search of its bytes: no document, no tokens.
    /// </remarks>
    public RelayError? Meter(SseEvent sseEvent, List<StreamEvent> output) =>
        _started && !_finished && IsDeltaOnly(sseEvent.TrimmedData) ? null : Decode(sseEvent, output);

    /// <summary>
    /// Whether a chunk holds nothing metering reads: it is framed as one JSON object, no <c>\u</c> escape in it could
    /// spell a letter of a name or is a surrogate (which <see cref="Decode"/> refuses), and every <c>"usage"</c>,
    /// <c>"error"</c> and <c>"finish_reason"</c> in it is followed by <c>: null</c>. Anything else goes to
    /// <see cref="Decode"/>.
    /// </summary>
    /// <remarks>
    /// NOTE: why bytes and not a token scan. The scan was 10 % of the relay's CPU on a relayed stream (bench/ANALYSIS.md,
    /// "Stream metering by bytes"), and the search costs a fifth of it. A quoted name cannot occur unescaped inside a
    /// JSON string, so a name that is found is a property name or a string value, and a value that is not
    /// <c>null</c> only sends the chunk to the full read. What the search does not do is validate the JSON between the
    /// braces: such a chunk is forwarded as the upstream sent it and does not end the stream by itself.
    /// </remarks>
    private static bool IsDeltaOnly(ReadOnlySpan<byte> data) =>
        data.Length >= 2 && data[0] == (byte)'{' && data[^1] == (byte)'}' && !HasEscapeThatMatters(data)
        && IsNullWherever(data, "\"usage\""u8) && IsNullWherever(data, "\"error\""u8) && IsNullWherever(data, "\"finish_reason\""u8);

    /// <summary>Whether a <c>\u</c> escape could spell a letter or <c>_</c> of a name, is a surrogate, or is malformed; text escapes (<c>\u00e9</c>, <c>\u0022</c>) are not.</summary>
    private static bool HasEscapeThatMatters(ReadOnlySpan<byte> data)
    {
        for (var at = data.IndexOf("\\u"u8); at >= 0; at = data.IndexOf("\\u"u8))
        {
            if (at + 6 > data.Length
                || !int.TryParse(data.Slice(at + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
                || code is '_' or >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= 0xD800 and <= 0xDFFF)
            {
                return true;
            }

            data = data[(at + 6)..];
        }

        return false;
    }

    private static bool IsNullWherever(ReadOnlySpan<byte> data, ReadOnlySpan<byte> quotedName)
    {
        for (var at = data.IndexOf(quotedName); at >= 0; at = data.IndexOf(quotedName))
        {
            data = data[(at + quotedName.Length)..].TrimStart(JsonWhitespace);
            if (data.IsEmpty || data[0] != (byte)':')
            {
                return false;
            }

            data = data[1..].TrimStart(JsonWhitespace);
            if (!data.StartsWith("null"u8))
            {
                return false;
            }

            data = data[4..];
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
            Finish(OpenAIChatWire.ReadFinishReason(finishReason, _toolBlocks.Count > 0), output);
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
