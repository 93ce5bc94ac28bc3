using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>
/// Decodes <c>streamGenerateContent?alt=sse</c>: every <c>data:</c> chunk is a whole <c>GenerateContentResponse</c>
/// holding the next slice of parts, with <c>usageMetadata</c> repeated as running totals and <c>finishReason</c> on the
/// last chunk. Function calls always arrive whole, in one part. The stream has no end marker; it just ends.
/// </summary>
internal sealed class GeminiStreamDecoder : IStreamDecoder
{
    private static readonly RelayError NotJson = new(ErrorKind.Upstream, "Gemini stream: a chunk was not valid JSON.");

    private enum Block
    {
        None,
        Text,
        Thinking,
    }

    private bool _started;
    private bool _finished;
    private bool _hasToolCalls;
    private int _nextIndex;
    private int _openIndex;
    private Block _open;
    private CallIds _callIds;

    public RelayError? Decode(SseEvent sseEvent, List<StreamEvent> output)
    {
        if (sseEvent.IsBlank)
        {
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
                return new RelayError(ErrorKind.Upstream, "Gemini stream: a chunk was not a JSON object.");
            }

            if (chunk.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                return GeminiErrors.FromUpstream(error);
            }

            DecodeChunk(chunk, output);
            return null;
        }
    }

    public RelayError? Complete(List<StreamEvent> output)
    {
        if (!_started)
        {
            return new RelayError(ErrorKind.Upstream, "Gemini stream ended before its first chunk.");
        }

        CloseBlock(output);
        if (!_finished)
        {
            _finished = true;
            output.Add(new MessageFinished(_hasToolCalls ? StopReason.ToolUse : StopReason.EndTurn));
        }

        output.Add(MessageStopped.Instance);
        return null;
    }

    private void DecodeChunk(JsonElement chunk, List<StreamEvent> output)
    {
        if (!_started)
        {
            _started = true;
            var responseId = GeminiJson.GetString(chunk, "responseId", "response_id");
            _callIds = new CallIds(responseId);
            output.Add(new MessageStarted(
                responseId ?? CallIds.NewResponseId(),
                GeminiJson.GetString(chunk, "modelVersion", "model_version") ?? string.Empty));
        }

        string? finishReason = null;
        var blocked = false;
        if (GeminiResponseReader.FirstCandidate(chunk) is { } candidate)
        {
            finishReason = GeminiJson.GetString(candidate, "finishReason", "finish_reason");
            if (GeminiJson.TryGet(candidate, "content", out var content) && content.ValueKind == JsonValueKind.Object
                && GeminiJson.TryGet(content, "parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in parts.EnumerateArray())
                {
                    DecodePart(part, output);
                }
            }
        }
        else
        {
            blocked = GeminiJson.TryGet(chunk, "promptFeedback", "prompt_feedback", out var feedback)
                && feedback.ValueKind == JsonValueKind.Object
                && GeminiJson.TryGet(feedback, "blockReason", "block_reason", out _);
        }

        if (GeminiWire.ReadUsage(chunk) is { } usage)
        {
            output.Add(new UsageReported(usage));
        }

        if ((finishReason is not null || blocked) && !_finished)
        {
            _finished = true;
            CloseBlock(output);
            output.Add(new MessageFinished(blocked ? StopReason.ContentFilter : GeminiWire.ToStopReason(finishReason, _hasToolCalls)));
        }
    }

    private void DecodePart(JsonElement part, List<StreamEvent> output)
    {
        if (part.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (part.TryGetProperty("text", out var textElement) && textElement.ValueKind == JsonValueKind.String)
        {
            var thought = GeminiJson.IsTrue(part, "thought");
            var signature = thought ? GeminiJson.GetString(part, "thoughtSignature", "thought_signature") : null;
            var text = textElement.GetString()!;

            // The last chunk often repeats an empty text part next to finishReason; it opens nothing.
            if (text.Length == 0 && signature is null)
            {
                return;
            }

            var index = Open(thought ? Block.Thinking : Block.Text, output);
            if (text.Length > 0)
            {
                output.Add(thought ? new ThinkingDelta(index, text) : new TextDelta(index, text));
            }

            if (signature is not null)
            {
                output.Add(new ThinkingSignature(index, signature, ThinkingSigner.Gemini));
            }

            return;
        }

        if (GeminiJson.TryGet(part, "functionCall", "function_call", out var call) && call.ValueKind == JsonValueKind.Object)
        {
            CloseBlock(output);
            _hasToolCalls = true;

            // NOTE: Gemini 3 requires this signature back with the call; it travels as an empty thinking block.
            if (GeminiJson.GetString(part, "thoughtSignature", "thought_signature") is { } callSignature)
            {
                var thinking = _nextIndex++;
                output.Add(new ThinkingStarted(thinking));
                output.Add(new ThinkingSignature(thinking, callSignature, ThinkingSigner.Gemini));
                output.Add(new BlockStopped(thinking));
            }

            var index = _nextIndex++;
            output.Add(new ToolCallStarted(index, _callIds.Next(JsonFields.GetString(call, "id")), JsonFields.GetString(call, "name") ?? string.Empty));
            output.Add(new ToolArgumentsDelta(index, GeminiJson.TryGet(call, "args", out var args) && args.ValueKind == JsonValueKind.Object ? args.GetRawText() : "{}"));
            output.Add(new BlockStopped(index));
        }

        // Inline images and code-execution parts have no stream event; they are dropped.
    }

    private int Open(Block kind, List<StreamEvent> output)
    {
        if (_open == kind)
        {
            return _openIndex;
        }

        CloseBlock(output);
        _open = kind;
        _openIndex = _nextIndex++;
        output.Add(kind == Block.Text ? new TextStarted(_openIndex) : new ThinkingStarted(_openIndex));
        return _openIndex;
    }

    private void CloseBlock(List<StreamEvent> output)
    {
        if (_open != Block.None)
        {
            output.Add(new BlockStopped(_openIndex));
            _open = Block.None;
        }
    }
}
