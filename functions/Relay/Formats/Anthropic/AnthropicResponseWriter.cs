using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>Writes a <see cref="ChatResponse"/> as a Messages API answer for an Anthropic client.</summary>
internal static class AnthropicResponseWriter
{
    public static void Write(ChatResponse response, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("id", response.Id);
        writer.WriteString("type", "message");
        writer.WriteString("role", "assistant");
        writer.WriteString("model", response.Model);
        writer.WriteStartArray("content");
        foreach (var part in response.Content)
        {
            switch (part)
            {
                case TextPart text:
                    AnthropicContentWriter.WriteText(writer, text);
                    break;
                case ToolCallPart call:
                    AnthropicContentWriter.WriteToolUse(writer, call, response: true);
                    break;
                case ThinkingPart thinking:
                    // NOTE: reasoning from other providers has no signature; the block is still shown to the client, with an
                    // empty signature (the field is required), and the request writer drops it if the client sends it back.
                    AnthropicContentWriter.WriteThinking(writer, thinking);
                    break;
            }
        }

        writer.WriteEndArray();
        writer.WriteString("stop_reason", AnthropicWire.WriteStopReason(response.StopReason));
        JsonFields.WriteStringOrNull(writer, "stop_sequence", response.StopReason == StopReason.StopSequence ? response.StopSequence : null);
        AnthropicWire.WriteUsage(response.Usage, writer);
        writer.WriteEndObject();
    }
}
