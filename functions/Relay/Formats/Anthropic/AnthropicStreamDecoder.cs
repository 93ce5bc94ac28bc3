using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>
/// Decodes one upstream Messages API stream (https://docs.claude.com/en/docs/build-with-claude/streaming):
/// <c>message_start</c>, then per block <c>content_block_start</c> / <c>_delta</c> / <c>_stop</c>, then
/// <c>message_delta</c> and <c>message_stop</c>, with <c>ping</c> and <c>error</c> anywhere.
/// Canonical block indices are Anthropic's own (they already count in start order).
/// </summary>
internal sealed class AnthropicStreamDecoder : IStreamDecoder
{
    // Blocks the canonical model can carry, by upstream index; deltas of other blocks (server tools, redacted thinking) are dropped.
    private readonly Dictionary<int, BlockKind> _blocks = [];
    private bool _finished;
    private bool _stopped;
    private bool _metering;

    private enum BlockKind
    {
        Text,
        /// <summary>A tool call no argument fragment has come for yet.</summary>
        ToolUse,
        ToolUseWithArguments,
        Thinking,
    }

    public RelayError? Decode(SseEvent sseEvent, List<StreamEvent> output)
    {
        if (_stopped || sseEvent.IsBlank)
        {
            return null;
        }

        if (JsonFields.ParseEvent(sseEvent.Data, sseEvent.Event, static name => new RelayError(ErrorKind.Upstream, $"upstream stream: event '{name ?? "message"}' is not valid JSON"), out var document) is { } parseError)
        {
            return parseError;
        }

        using (document)
        {
            var data = document.RootElement;
            if (data.ValueKind != JsonValueKind.Object)
            {
                return new RelayError(ErrorKind.Upstream, $"upstream stream: event '{sseEvent.Event ?? "message"}' is not a JSON object");
            }

            // The data's own "type" is authoritative; the SSE event name repeats it.
            switch (JsonFields.GetString(data, "type") ?? sseEvent.Event)
            {
                case "message_start":
                    OnMessageStart(data, output);
                    break;
                case "content_block_start":
                    OnBlockStart(data, output);
                    break;
                case "content_block_delta":
                    OnBlockDelta(data, output);
                    break;
                case "content_block_stop":
                    if (TryGetIndex(data, out var index) && _blocks.TryGetValue(index, out var kind))
                    {
                        // NOTE: a call without arguments streams no fragment at all; clients of other formats parse
                        // the arguments they were given, and "" is no JSON (the answer read whole says {}).
                        if (kind == BlockKind.ToolUse && !_metering)
                        {
                            output.Add(new ToolArgumentsDelta(index, "{}"));
                        }

                        output.Add(new BlockStopped(index));
                    }

                    break;
                case "message_delta":
                    OnMessageDelta(data, output);
                    break;
                case "message_stop":
                    if (!_finished)
                    {
                        output.Add(new MessageFinished(StopReason.EndTurn));
                        _finished = true;
                    }

                    output.Add(MessageStopped.Instance);
                    _stopped = true;
                    break;
                case "error":
                    return ReadError(data);

                // ping, and event types added after this was written (Anthropic's versioning policy allows new ones).
            }
        }

        return null;
    }

    /// <remarks>Text, thinking and tool-argument deltas, most of a stream, carry no usage: skipped by their event name, unparsed.</remarks>
    public RelayError? Meter(SseEvent sseEvent, List<StreamEvent> output)
    {
        // Deltas go unread, so whether a call had arguments is not known: nothing is made up for a stream passed on as it came.
        _metering = true;
        return sseEvent.Event == "content_block_delta" ? null : Decode(sseEvent, output);
    }

    public RelayError? Complete(List<StreamEvent> output) =>
        _stopped ? null : new RelayError(ErrorKind.Upstream, "upstream stream ended before message_stop");

    private static void OnMessageStart(JsonElement data, List<StreamEvent> output)
    {
        if (!data.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
        {
            output.Add(new MessageStarted(string.Empty, string.Empty));
            return;
        }

        UsageReport? usage = null;
        if (message.TryGetProperty("usage", out var usageElement) && usageElement.ValueKind == JsonValueKind.Object)
        {
            usage = AnthropicWire.ReadUsageReport(usageElement);
        }

        output.Add(new MessageStarted(
            JsonFields.GetString(message, "id") ?? string.Empty,
            JsonFields.GetString(message, "model") ?? string.Empty,
            usage));
        if (usage is not null)
        {
            output.Add(new UsageReported(usage));
        }
    }

    private void OnBlockStart(JsonElement data, List<StreamEvent> output)
    {
        if (!TryGetIndex(data, out var index) || !data.TryGetProperty("content_block", out var block))
        {
            return;
        }

        switch (JsonFields.GetString(block, "type"))
        {
            case "text":
                _blocks[index] = BlockKind.Text;
                output.Add(new TextStarted(index));
                if (JsonFields.GetString(block, "text") is { Length: > 0 } text)
                {
                    output.Add(new TextDelta(index, text));
                }

                break;
            case "tool_use":
                // The start block carries "input": {} — the arguments arrive as input_json_delta fragments.
                _blocks[index] = BlockKind.ToolUse;
                output.Add(new ToolCallStarted(
                    index,
                    JsonFields.GetString(block, "id") ?? string.Empty,
                    JsonFields.GetString(block, "name") ?? string.Empty));
                break;
            case "thinking":
                _blocks[index] = BlockKind.Thinking;
                output.Add(new ThinkingStarted(index));
                if (JsonFields.GetString(block, "thinking") is { Length: > 0 } thinking)
                {
                    output.Add(new ThinkingDelta(index, thinking));
                }

                if (JsonFields.GetString(block, "signature") is { Length: > 0 } signature)
                {
                    output.Add(new ThinkingSignature(index, signature, ThinkingSigner.Anthropic));
                }

                break;
        }
    }

    private void OnBlockDelta(JsonElement data, List<StreamEvent> output)
    {
        if (!TryGetIndex(data, out var index)
            || !_blocks.ContainsKey(index)
            || !data.TryGetProperty("delta", out var delta)
            || delta.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        switch (JsonFields.GetString(delta, "type"))
        {
            case "text_delta" when JsonFields.GetString(delta, "text") is { Length: > 0 } text:
                output.Add(new TextDelta(index, text));
                break;
            case "input_json_delta" when JsonFields.GetString(delta, "partial_json") is { Length: > 0 } json:
                // NOTE: Anthropic opens a tool_use block with an empty fragment; it carries nothing, so it is skipped.
                _blocks[index] = BlockKind.ToolUseWithArguments;
                output.Add(new ToolArgumentsDelta(index, json));
                break;
            case "thinking_delta" when JsonFields.GetString(delta, "thinking") is { Length: > 0 } thinking:
                output.Add(new ThinkingDelta(index, thinking));
                break;
            case "signature_delta" when JsonFields.GetString(delta, "signature") is { Length: > 0 } signature:
                output.Add(new ThinkingSignature(index, signature, ThinkingSigner.Anthropic));
                break;

            // citations_delta: citations have no canonical form.
        }
    }

    private void OnMessageDelta(JsonElement data, List<StreamEvent> output)
    {
        // Usage here is cumulative: output_tokens always, and newer API versions repeat the input and cache counters.
        if (data.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            output.Add(new UsageReported(AnthropicWire.ReadUsageReport(usage)));
        }

        if (data.TryGetProperty("delta", out var delta)
            && JsonFields.GetString(delta, "stop_reason") is { } stopReason
            && !_finished)
        {
            output.Add(new MessageFinished(AnthropicWire.ReadStopReason(stopReason), JsonFields.GetString(delta, "stop_sequence")));
            _finished = true;
        }
    }

    private static RelayError ReadError(JsonElement data)
    {
        var error = data.TryGetProperty("error", out var errorElement) ? errorElement : default;
        var type = JsonFields.GetString(error, "type");
        var message = JsonFields.GetString(error, "message") ?? "upstream stream failed without a message";
        return new RelayError(AnthropicErrors.KindOf(type), message);
    }

    private static bool TryGetIndex(JsonElement data, out int index)
    {
        index = 0;
        return data.TryGetProperty("index", out var element)
            && element.ValueKind == JsonValueKind.Number
            && element.TryGetInt32(out index);
    }
}
