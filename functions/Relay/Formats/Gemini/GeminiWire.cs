using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>Mappings shared by the Gemini readers, writers and stream translators.</summary>
internal static class GeminiWire
{
    /// <summary>
    /// Google's documented placeholder for a function call whose thought signature was lost (e.g. the conversation went
    /// through a client format that has no place for it). Gemini 3 rejects replayed calls without a signature.
    /// See https://ai.google.dev/gemini-api/docs/thought-signatures.
    /// </summary>
    public const string SkipSignatureSentinel = "skip_thought_signature_validator";

    public static StopReason ToStopReason(string? finishReason, bool hasToolCalls) => finishReason switch
    {
        null or "STOP" or "FINISH_REASON_UNSPECIFIED" => hasToolCalls ? StopReason.ToolUse : StopReason.EndTurn,
        "MAX_TOKENS" => StopReason.MaxTokens,
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" or "IMAGE_PROHIBITED_CONTENT" => StopReason.ContentFilter,
        _ => StopReason.Other,
    };

    public static string ToFinishReason(StopReason stopReason) => stopReason switch
    {
        StopReason.MaxTokens => "MAX_TOKENS",
        StopReason.ContentFilter => "SAFETY",
        StopReason.Other => "OTHER",
        _ => "STOP",
    };

    /// <summary>
    /// Reads <c>usageMetadata</c> into canonical terms: <c>promptTokenCount</c> includes cached tokens (subtracted here),
    /// and thoughts are counted apart from candidates (added here). Only the fields present are reported.
    /// </summary>
    public static UsageReport? ReadUsage(JsonElement response)
    {
        if (!GeminiJson.TryGet(response, "usageMetadata", "usage_metadata", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var prompt = GeminiJson.GetCount(usage, "promptTokenCount", "prompt_token_count");
        var cached = GeminiJson.GetCount(usage, "cachedContentTokenCount", "cached_content_token_count");
        var toolPrompt = GeminiJson.GetCount(usage, "toolUsePromptTokenCount", "tool_use_prompt_token_count");
        var candidates = GeminiJson.GetCount(usage, "candidatesTokenCount", "candidates_token_count");
        var thoughts = GeminiJson.GetCount(usage, "thoughtsTokenCount", "thoughts_token_count");

        var hasInput = prompt is not null;
        var hasOutput = candidates is not null || thoughts is not null;
        if (!hasInput && !hasOutput)
        {
            return null;
        }

        return new UsageReport
        {
            InputTokens = hasInput ? Math.Max(0, prompt!.Value + (toolPrompt ?? 0) - (cached ?? 0)) : null,
            CacheReadTokens = hasInput ? cached ?? 0 : cached,
            OutputTokens = hasOutput ? (candidates ?? 0) + (thoughts ?? 0) : null,
            ReasoningTokens = hasOutput ? thoughts ?? 0 : null,
        };
    }

    /// <summary>Writes <c>usageMetadata</c> in Gemini's convention (cached tokens inside the prompt count, thoughts apart).</summary>
    public static void WriteUsage(Usage usage, Utf8JsonWriter writer)
    {
        writer.WriteStartObject("usageMetadata");
        writer.WriteNumber("promptTokenCount", usage.TotalInputTokens);
        writer.WriteNumber("candidatesTokenCount", Math.Max(0, usage.OutputTokens - usage.ReasoningTokens));
        writer.WriteNumber("totalTokenCount", usage.TotalTokens);
        if (usage.CacheReadTokens > 0)
        {
            writer.WriteNumber("cachedContentTokenCount", usage.CacheReadTokens);
        }

        if (usage.ReasoningTokens > 0)
        {
            writer.WriteNumber("thoughtsTokenCount", usage.ReasoningTokens);
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes the parts of a model turn. A <see cref="ThinkingPart"/> with a signature but no text stands for a
    /// signature Gemini attached to the next part (see the readers), so it is put back on that part.
    /// </summary>
    /// <param name="writeCallIds">Responses carry call ids (clients echo them in <c>functionResponse.id</c>); requests leave them out, since the ids were minted by other providers.</param>
    /// <param name="missingSignature">Written on the first function call of the turn when no call before it carried a signature.</param>
    /// <param name="names">Gemini's rule for function names when the turn goes to it as history; null for a client's answer.</param>
    public static void WriteModelParts(IReadOnlyList<ContentPart> content, Utf8JsonWriter writer, bool writeCallIds, string? missingSignature = null, UpstreamToolNames? names = null)
    {
        string? pendingSignature = null;
        var callSigned = false;
        for (var i = 0; i < content.Count; i++)
        {
            switch (content[i])
            {
                case ThinkingPart { Text.Length: 0, Signature: { } signature }:
                    pendingSignature = signature;
                    break;
                case ThinkingPart thinking:
                    writer.WriteStartObject();
                    writer.WriteString("text", thinking.Text);
                    writer.WriteBoolean("thought", true);
                    if (thinking.Signature is not null)
                    {
                        writer.WriteString("thoughtSignature", thinking.Signature);
                    }

                    writer.WriteEndObject();
                    break;
                case TextPart { Text.Length: 0 }:
                    // Gemini rejects empty text parts ("empty text parameter").
                    break;
                case TextPart text:
                    writer.WriteStartObject();
                    writer.WriteString("text", text.Text);
                    WriteSignature(writer, ref pendingSignature);
                    writer.WriteEndObject();
                    break;
                case ImagePart image:
                    WriteImagePart(image, writer);
                    break;
                case DocumentPart document:
                    WriteDocumentPart(document, writer);
                    break;
                case ToolCallPart call:
                    writer.WriteStartObject();
                    WriteFunctionCall(call, writer, writeCallIds, names);
                    if (pendingSignature is null && !callSigned && missingSignature is not null)
                    {
                        pendingSignature = missingSignature;
                    }

                    callSigned |= pendingSignature is not null;

                    WriteSignature(writer, ref pendingSignature);
                    writer.WriteEndObject();
                    break;
            }
        }
    }

    /// <summary>Writes the <c>functionCall</c> property; arguments JSON text becomes the <c>args</c> object.</summary>
    /// <param name="names">Gemini's rule for function names when the call goes to it; null for a client's answer.</param>
    public static void WriteFunctionCall(ToolCallPart call, Utf8JsonWriter writer, bool writeId, UpstreamToolNames? names = null)
    {
        writer.WriteStartObject("functionCall");
        if (writeId && !string.IsNullOrEmpty(call.Id))
        {
            writer.WriteString("id", call.Id);
        }

        writer.WriteString("name", names is null ? call.Name : names.Of(call.Name));
        if (!GeminiJson.TryWriteObject(writer, "args", call.ArgumentsJson))
        {
            writer.WriteStartObject("args");
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>Base64 images become <c>inlineData</c>; URLs become <c>fileData</c> with a MIME type guessed from the extension.</summary>
    public static void WriteImagePart(ImagePart image, Utf8JsonWriter writer) =>
        WriteMediaPart(image.MediaType, image.Data, image.Url, "image/jpeg", GuessImageMimeType, writer);

    /// <summary>
    /// Documents go the way images do (https://ai.google.dev/gemini-api/docs/document-processing): inline data, or a
    /// <c>fileData</c> URI, which Gemini fetches itself.
    /// </summary>
    public static void WriteDocumentPart(DocumentPart document, Utf8JsonWriter writer) =>
        WriteMediaPart(document.MediaType, document.Data, document.Url, DocumentPart.Pdf, GuessDocumentMimeType, writer);

    private static void WriteMediaPart(string? mediaType, string? data, string? url, string inlineDefault, Func<string, string> guess, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        if (data is not null)
        {
            WriteInline(writer, mediaType ?? inlineDefault, data);
        }
        else if (url is not null && DataUrl.TryParse(url, out var urlMediaType, out var urlData))
        {
            WriteInline(writer, urlMediaType, urlData);
        }
        else
        {
            writer.WriteStartObject("fileData");
            writer.WriteString("mimeType", mediaType ?? guess(url ?? string.Empty));
            writer.WriteString("fileUri", url ?? string.Empty);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();

        static void WriteInline(Utf8JsonWriter writer, string mediaType, string data)
        {
            writer.WriteStartObject("inlineData");
            writer.WriteString("mimeType", mediaType);
            writer.WriteString("data", data);
            writer.WriteEndObject();
        }
    }

    /// <summary>A document's URL says text when it ends in <c>.txt</c>; anything else is taken for a PDF, the common case.</summary>
    private static string GuessDocumentMimeType(string url) =>
        WithoutQuery(url).EndsWith(".txt", StringComparison.OrdinalIgnoreCase) ? DocumentPart.PlainText : DocumentPart.Pdf;

    private static ReadOnlySpan<char> WithoutQuery(string url)
    {
        var path = url.AsSpan();
        var query = path.IndexOfAny('?', '#');
        return query >= 0 ? path[..query] : path;
    }

    public static string GuessImageMimeType(string url)
    {
        var path = WithoutQuery(url);
        var dot = path.LastIndexOf('.');
        var extension = dot < 0 ? ReadOnlySpan<char>.Empty : path[(dot + 1)..];
        return extension switch
        {
            _ when extension.Equals("png", StringComparison.OrdinalIgnoreCase) => "image/png",
            _ when extension.Equals("gif", StringComparison.OrdinalIgnoreCase) => "image/gif",
            _ when extension.Equals("webp", StringComparison.OrdinalIgnoreCase) => "image/webp",
            _ when extension.Equals("heic", StringComparison.OrdinalIgnoreCase) => "image/heic",
            _ when extension.Equals("heif", StringComparison.OrdinalIgnoreCase) => "image/heif",
            _ => "image/jpeg",
        };
    }

    /// <summary>Reads an <c>inlineData</c> or <c>fileData</c> part of an answer (<see cref="Media"/>).</summary>
    public static ContentPart? ReadMedia(JsonElement part)
    {
        if (GeminiJson.TryGet(part, "inlineData", "inline_data", out var inline) && inline.ValueKind == JsonValueKind.Object)
        {
            return Media(GeminiJson.GetString(inline, "mimeType", "mime_type"), JsonFields.GetString(inline, "data"), url: null);
        }

        if (GeminiJson.TryGet(part, "fileData", "file_data", out var file) && file.ValueKind == JsonValueKind.Object)
        {
            return Media(GeminiJson.GetString(file, "mimeType", "mime_type"), data: null, GeminiJson.GetString(file, "fileUri", "file_uri"));
        }

        return null;
    }

    /// <summary>
    /// Gemini carries every medium the same way; an image (<c>image/*</c>, or no MIME type, as before documents had a
    /// part of their own) stays an image, anything else (a PDF, a text file, audio) is a document.
    /// </summary>
    public static ContentPart Media(string? mimeType, string? data, string? url) =>
        IsImage(mimeType)
            ? new ImagePart { MediaType = mimeType, Data = data, Url = url }
            : new DocumentPart { MediaType = mimeType, Data = data, Url = url };

    /// <summary><see cref="Media"/>'s test, for a MIME type read in place (the prompt tally).</summary>
    public static bool IsImage(string? mimeType) => mimeType is null || mimeType.StartsWith("image/", StringComparison.OrdinalIgnoreCase);

    private static void WriteSignature(Utf8JsonWriter writer, ref string? pendingSignature)
    {
        if (pendingSignature is not null)
        {
            writer.WriteString("thoughtSignature", pendingSignature);
            pendingSignature = null;
        }
    }
}
