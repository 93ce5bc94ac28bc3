using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>
/// Writes an upstream <c>generateContent</c> body. The model and streaming belong to the URL, never to the body.
/// </summary>
internal static class GeminiRequestWriter
{
    public static void Write(ChatRequest request, string upstreamModel, Utf8JsonWriter writer)
    {
        // Gemini 3 fails replayed function calls without a thought signature; older models need none.
        var missingSignature = GeminiRequestReader.NormalizeModel(upstreamModel).StartsWith("gemini-3", StringComparison.OrdinalIgnoreCase)
            ? GeminiWire.SkipSignatureSentinel
            : null;

        writer.WriteStartObject();
        WriteContents(request.Messages, writer, missingSignature);

        if (request.System.Count > 0)
        {
            writer.WriteStartObject("systemInstruction");
            writer.WriteStartArray("parts");
            foreach (var part in request.System)
            {
                writer.WriteStartObject();
                writer.WriteString("text", part.Text);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        if (request.Tools.Count > 0)
        {
            writer.WriteStartArray("tools");
            writer.WriteStartObject();
            writer.WriteStartArray("functionDeclarations");
            foreach (var tool in request.Tools)
            {
                writer.WriteStartObject();
                writer.WriteString("name", tool.Name);
                if (tool.Description is not null)
                {
                    writer.WriteString("description", tool.Description);
                }

                if (GeminiSchema.ToGeminiParameters(tool.Parameters) is { } parameters)
                {
                    writer.WritePropertyName("parameters");
                    parameters.WriteTo(writer);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
        }

        if (request.ToolChoice is { } choice)
        {
            writer.WriteStartObject("toolConfig");
            writer.WriteStartObject("functionCallingConfig");
            writer.WriteString("mode", choice.Kind switch
            {
                ToolChoiceKind.None => "NONE",
                ToolChoiceKind.Required or ToolChoiceKind.Tool => "ANY",
                _ => "AUTO",
            });
            if (choice is { Kind: ToolChoiceKind.Tool, Name: { } name })
            {
                writer.WriteStartArray("allowedFunctionNames");
                writer.WriteStringValue(name);
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        WriteGenerationConfig(request, writer);
        writer.WriteEndObject();
    }

    private static void WriteContents(IReadOnlyList<ChatMessage> messages, Utf8JsonWriter writer, string? missingSignature)
    {
        // A functionResponse must name its function; canonical tool results may only carry the call id.
        Dictionary<string, string>? callNames = null;

        writer.WriteStartArray("contents");
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.Assistant)
            {
                foreach (var part in message.Content)
                {
                    if (part is ToolCallPart call)
                    {
                        callNames ??= new Dictionary<string, string>(StringComparer.Ordinal);
                        callNames[call.Id] = call.Name;
                    }
                }
            }

            // NOTE: Gemini rejects a content with no parts, and a text part with empty text.
            if (!HasParts(message))
            {
                continue;
            }

            writer.WriteStartObject();
            writer.WriteString("role", message.Role == ChatRole.Assistant ? "model" : "user");
            writer.WriteStartArray("parts");
            if (message.Role == ChatRole.Assistant)
            {
                GeminiWire.WriteModelParts(message.Content, writer, writeCallIds: false, missingSignature);
            }
            else
            {
                WriteUserParts(message.Content, writer, callNames);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private static bool HasParts(ChatMessage message)
    {
        foreach (var part in message.Content)
        {
            switch (part)
            {
                case TextPart { Text.Length: > 0 }:
                case ImagePart:
                case ToolResultPart:
                    return true;
                case ToolCallPart or ThinkingPart { Text.Length: > 0 } when message.Role == ChatRole.Assistant:
                    return true;
            }
        }

        return false;
    }

    private static void WriteUserParts(IReadOnlyList<ContentPart> content, Utf8JsonWriter writer, Dictionary<string, string>? callNames)
    {
        foreach (var part in content)
        {
            switch (part)
            {
                case TextPart { Text.Length: > 0 } text:
                    writer.WriteStartObject();
                    writer.WriteString("text", text.Text);
                    writer.WriteEndObject();
                    break;
                case ImagePart image:
                    GeminiWire.WriteImagePart(image, writer);
                    break;
                case ToolResultPart result:
                    WriteFunctionResponse(result, writer, callNames);
                    break;
            }
        }
    }

    private static void WriteFunctionResponse(ToolResultPart result, Utf8JsonWriter writer, Dictionary<string, string>? callNames)
    {
        var name = result.ToolName
            ?? (callNames is not null && callNames.TryGetValue(result.ToolCallId, out var known) ? known : null)
            ?? result.ToolCallId;

        writer.WriteStartObject();
        writer.WriteStartObject("functionResponse");
        writer.WriteString("name", name);

        // NOTE: "response" must be an object: JSON object text is used as is, anything else is wrapped in the keys
        // Gemini's docs suggest ("output"/"error"; we use "result" for output, as LiteLLM and Vertex samples do).
        var text = ResultText(result.Content);
        if (result.IsError)
        {
            writer.WriteStartObject("response");
            writer.WriteString("error", text);
            writer.WriteEndObject();
        }
        else if (!GeminiJson.TryWriteObject(writer, "response", text))
        {
            writer.WriteStartObject("response");
            writer.WriteString("result", text);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();

        // Images returned by a tool follow as their own parts; functionResponse holds JSON only.
        foreach (var part in result.Content)
        {
            if (part is ImagePart image)
            {
                GeminiWire.WriteImagePart(image, writer);
            }
        }
    }

    private static string ResultText(IReadOnlyList<ContentPart> content)
    {
        string? single = null;
        System.Text.StringBuilder? joined = null;
        foreach (var part in content)
        {
            if (part is not TextPart text)
            {
                continue;
            }

            if (single is null)
            {
                single = text.Text;
            }
            else
            {
                joined ??= new System.Text.StringBuilder(single);
                joined.Append('\n').Append(text.Text);
            }
        }

        return joined?.ToString() ?? single ?? string.Empty;
    }

    private static void WriteGenerationConfig(ChatRequest request, Utf8JsonWriter writer)
    {
        var format = request.OutputFormat is { Kind: not OutputFormatKind.Text } json ? json : null;
        if (request.Temperature is null && request.TopP is null && request.MaxOutputTokens is null && request.StopSequences.Count == 0 && format is null)
        {
            return;
        }

        writer.WriteStartObject("generationConfig");
        JsonFields.WriteNumberIfPresent(writer, "temperature", request.Temperature);
        JsonFields.WriteNumberIfPresent(writer, "topP", request.TopP);
        JsonFields.WriteNumberIfPresent(writer, "maxOutputTokens", request.MaxOutputTokens);

        // NOTE: Gemini takes at most 5 stop sequences; the first five go.
        JsonFields.WriteStringsIfAny(writer, "stopSequences", request.StopSequences, max: 5);

        if (format is not null)
        {
            writer.WriteString("responseMimeType", "application/json");

            // responseJsonSchema takes standard JSON Schema as it is, where responseSchema (OpenAPI subset) would need
            // the lossy conversion tools get (https://ai.google.dev/api/generate-content#generationconfig).
            if (format is { Kind: OutputFormatKind.JsonSchema, Schema: { Count: > 0 } schema })
            {
                writer.WritePropertyName("responseJsonSchema");
                schema.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
    }
}
