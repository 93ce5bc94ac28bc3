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
        // A Responses client may carry back thinking Claude signed (another upstream answered that turn).
        request = request.WithoutThinkingSignedElsewhere(ThinkingSigner.Gemini);

        writer.WriteStartObject();
        WriteContents(request.Messages, writer);

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
                writer.WriteString("name", UpstreamToolNames.Gemini.Of(tool.Name));
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
                writer.WriteStringValue(UpstreamToolNames.Gemini.Of(name));
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        WriteGenerationConfig(request, upstreamModel, writer);
        writer.WriteEndObject();
    }

    private static void WriteContents(IReadOnlyList<ChatMessage> messages, Utf8JsonWriter writer)
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
                // NOTE: Gemini 3 fails a replayed function call without a thought signature ("Function call is missing
                // a thought_signature"), and the model name does not tell which models those are (gemini-flash-latest
                // is a Gemini 3, later versions will be too). Google's placeholder goes on every unsigned call for every
                // model, as Gemini CLI sends it to Gemini 2.x as well as 3 (geminiChat.ts,
                // ensureActiveLoopHasThoughtSignatures; https://ai.google.dev/gemini-api/docs/thought-signatures).
                GeminiWire.WriteModelParts(message.Content, writer, writeCallIds: false, GeminiWire.SkipSignatureSentinel, UpstreamToolNames.Gemini);
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
                case ImagePart or DocumentPart:
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
                case DocumentPart document:
                    GeminiWire.WriteDocumentPart(document, writer);
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
        writer.WriteString("name", UpstreamToolNames.Gemini.Of(name));

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

        // Images and documents returned by a tool follow as their own parts; functionResponse holds JSON only.
        foreach (var part in result.Content)
        {
            if (part is ImagePart image)
            {
                GeminiWire.WriteImagePart(image, writer);
            }
            else if (part is DocumentPart document)
            {
                GeminiWire.WriteDocumentPart(document, writer);
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

    private static void WriteGenerationConfig(ChatRequest request, string upstreamModel, Utf8JsonWriter writer)
    {
        var format = request.OutputFormat is { Kind: not OutputFormatKind.Text } json ? json : null;
        var thinking = request.Reasoning is { } reasoning ? Thinking.Of(reasoning, upstreamModel) : default;
        if (request.Temperature is null && request.TopP is null && request.TopK is null && request.Seed is null && request.PresencePenalty is null
            && request.FrequencyPenalty is null && request.MaxOutputTokens is null && request.StopSequences.Count == 0 && format is null && !thinking.IsWritten)
        {
            return;
        }

        writer.WriteStartObject("generationConfig");
        JsonFields.WriteNumberIfPresent(writer, "temperature", request.Temperature);
        JsonFields.WriteNumberIfPresent(writer, "topP", request.TopP);
        JsonFields.WriteNumberIfPresent(writer, "topK", request.TopK);
        JsonFields.WriteNumberIfPresent(writer, "seed", request.Seed);
        JsonFields.WriteNumberIfPresent(writer, "presencePenalty", request.PresencePenalty);
        JsonFields.WriteNumberIfPresent(writer, "frequencyPenalty", request.FrequencyPenalty);
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

        if (thinking.IsWritten)
        {
            writer.WriteStartObject("thinkingConfig");
            JsonFields.WriteNumberIfPresent(writer, "thinkingBudget", thinking.Budget);
            JsonFields.WriteStringIfPresent(writer, "thinkingLevel", thinking.Level);
            JsonFields.WriteBooleanIfPresent(writer, "includeThoughts", thinking.IncludeThoughts);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// <c>thinkingConfig</c> for the client's reasoning (https://ai.google.dev/gemini-api/docs/thinking). A budget the
    /// client gave goes as <c>thinkingBudget</c>, which Gemini 3 still takes. An effort goes as Google's own
    /// OpenAI-compatible endpoint sends <c>reasoning_effort</c> (https://ai.google.dev/gemini-api/docs/openai): to
    /// Gemini 2.5 as a budget (none 0, low 1024, medium 8192, high 24576; minimal counts as low and anything above high
    /// as high, the largest budget every 2.5 model takes), to Gemini 3 and later as <c>thinkingLevel</c> low or high,
    /// the two levels every Gemini 3 model takes (medium and above become high; none and minimal low, since Gemini 3
    /// cannot turn thinking off). Thinking the model sizes itself is Gemini's default and sends nothing.
    /// </summary>
    /// <remarks>NOTE: Gemini 2.5 Pro cannot turn thinking off either and refuses a budget of 0 with its own 400.</remarks>
    private readonly record struct Thinking(int? Budget, string? Level, bool? IncludeThoughts)
    {
        public bool IsWritten => Budget is not null || Level is not null || IncludeThoughts is not null;

        public static Thinking Of(Reasoning reasoning, string upstreamModel)
        {
            if (reasoning.BudgetTokens is { } budget)
            {
                return new Thinking(budget, null, reasoning.IncludeThoughts);
            }

            if (reasoning.Effort is not { } effort)
            {
                return new Thinking(null, null, reasoning.IncludeThoughts);
            }

            if (UsesThinkingLevels(upstreamModel))
            {
                return new Thinking(null, effort <= ReasoningEffort.Low ? "low" : "high", reasoning.IncludeThoughts);
            }

            var tokens = effort switch
            {
                ReasoningEffort.None => 0,
                ReasoningEffort.Minimal or ReasoningEffort.Low => 1024,
                ReasoningEffort.Medium => 8192,
                _ => 24576,
            };
            return new Thinking(tokens, null, reasoning.IncludeThoughts);
        }

        /// <summary>Gemini 3 and later (<c>gemini-3-pro-preview</c>, <c>models/gemini-3-flash</c>); 2.5 and unknown names take budgets.</summary>
        private static bool UsesThinkingLevels(string model)
        {
            var name = GeminiRequestReader.NormalizeModel(model).AsSpan();
            if (!name.StartsWith("gemini-", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            name = name["gemini-".Length..];
            var digits = name.IndexOfAnyExceptInRange('0', '9');
            return int.TryParse(digits < 0 ? name : name[..digits], out var major) && major >= 3;
        }
    }
}
