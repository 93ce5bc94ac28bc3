using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>Writes a complete answer as a <c>GenerateContentResponse</c>.</summary>
internal static class GeminiResponseWriter
{
    public static void Write(ChatResponse response, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("candidates");
        writer.WriteStartObject();
        if (response.Content.Count > 0)
        {
            writer.WriteStartObject("content");
            writer.WriteString("role", "model");
            writer.WriteStartArray("parts");
            GeminiWire.WriteModelParts(response.Content, writer, writeCallIds: true);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteString("finishReason", GeminiWire.ToFinishReason(response.StopReason));
        writer.WriteNumber("index", 0);
        writer.WriteEndObject();
        writer.WriteEndArray();
        GeminiWire.WriteUsage(response.Usage, writer);
        writer.WriteString("modelVersion", response.Model);
        writer.WriteString("responseId", response.Id);
        writer.WriteEndObject();
    }
}
