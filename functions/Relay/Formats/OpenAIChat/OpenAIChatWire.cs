using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>Pieces of the Chat Completions wire form shared by the readers, writers and stream translators.</summary>
internal static class OpenAIChatWire
{

    /// <param name="hasToolCalls">
    /// The answer calls tools. OpenAI itself says <c>stop</c> for a call the client forced (<c>tool_choice</c> naming a
    /// function), as do many compatible servers; a client of another format would read that as a finished answer and
    /// not run the call.
    /// </param>
    public static StopReason ReadFinishReason(string? finishReason, bool hasToolCalls) => finishReason switch
    {
        null or "stop" => hasToolCalls ? StopReason.ToolUse : StopReason.EndTurn,
        "length" => StopReason.MaxTokens,
        // NOTE: "function_call" is the legacy (pre-tools) spelling some compatible servers still send.
        "tool_calls" or "function_call" => StopReason.ToolUse,
        "content_filter" => StopReason.ContentFilter,
        _ => StopReason.Other,
    };

    /// <summary>OpenAI has no separate stop-sequence reason: hitting one is a plain <c>stop</c>.</summary>
    public static string WriteFinishReason(StopReason stopReason) => stopReason switch
    {
        StopReason.MaxTokens => "length",
        StopReason.ToolUse => "tool_calls",
        StopReason.ContentFilter => "content_filter",
        _ => "stop",
    };

    /// <summary>
    /// Reads <c>usage</c>. <c>prompt_tokens</c> includes cache reads (<c>cached_tokens</c>) and, on OpenRouter, cache
    /// writes (<c>cache_write_tokens</c>); both are taken out so <see cref="Usage.InputTokens"/> counts uncached input only.
    /// </summary>
    public static UsageReport ReadUsage(JsonElement usage)
    {
        var prompt = JsonFields.GetInt64(usage, "prompt_tokens");
        var completion = JsonFields.GetInt64(usage, "completion_tokens");
        long cacheRead = 0, cacheWrite = 0;
        long? reasoning = null;
        if (usage.TryGetProperty("prompt_tokens_details", out var promptDetails) && promptDetails.ValueKind == JsonValueKind.Object)
        {
            cacheRead = JsonFields.GetInt64(promptDetails, "cached_tokens") ?? 0;
            cacheWrite = JsonFields.GetInt64(promptDetails, "cache_write_tokens") ?? 0;
        }

        if (usage.TryGetProperty("completion_tokens_details", out var completionDetails) && completionDetails.ValueKind == JsonValueKind.Object)
        {
            reasoning = JsonFields.GetInt64(completionDetails, "reasoning_tokens");
        }

        return new UsageReport
        {
            InputTokens = prompt is { } p ? Math.Max(0, p - cacheRead - cacheWrite) : null,
            OutputTokens = completion,
            CacheReadTokens = prompt is null && cacheRead == 0 ? null : cacheRead,
            CacheWriteTokens = prompt is null && cacheWrite == 0 ? null : cacheWrite,
            ReasoningTokens = reasoning,
        };
    }

    /// <summary>Writes the <c>"usage"</c> property the OpenAI way: cached tokens are added back into <c>prompt_tokens</c>.</summary>
    public static void WriteUsageProperty(Usage usage, Utf8JsonWriter writer)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", usage.TotalInputTokens);
        writer.WriteNumber("completion_tokens", usage.OutputTokens);
        writer.WriteNumber("total_tokens", usage.TotalTokens);
        writer.WriteStartObject("prompt_tokens_details");
        writer.WriteNumber("cached_tokens", usage.CacheReadTokens);
        if (usage.CacheWriteTokens > 0)
        {
            // OpenRouter's name for it; OpenAI clients ignore the unknown field, and the total above stays right for them.
            writer.WriteNumber("cache_write_tokens", usage.CacheWriteTokens);
        }

        writer.WriteEndObject();
        writer.WriteStartObject("completion_tokens_details");
        writer.WriteNumber("reasoning_tokens", usage.ReasoningTokens);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Turns an <c>image_url.url</c> into an <see cref="ImagePart"/>, unpacking base64 data URLs.</summary>
    public static ImagePart ReadImageUrl(string url, string? detail, JsonObject? cacheControl) =>
        DataUrl.TryParse(url, out var mediaType, out var data)
            ? new ImagePart { MediaType = mediaType, Data = data, Detail = detail, CacheControl = cacheControl }
            : new ImagePart { Url = url, Detail = detail, CacheControl = cacheControl };

    /// <summary>The URL to send for an image: its own, or a data URL built from inline data.</summary>
    public static string ImageUrlOf(ImagePart image) => image.Url ?? DataUrl.Of(image.MediaType, image.Data);

    /// <summary>
    /// The <c>filename</c> of an inline file: OpenAI refuses file data without one (as "missing file_id"), and a
    /// document from Gemini has none, so it is named after its type.
    /// </summary>
    public static string FileNameOf(DocumentPart document) =>
        document.Name ?? (document.MediaType == DocumentPart.Pdf ? "document.pdf" : document.IsText ? "document.txt" : "document");




    /// <summary>
    /// Whether <paramref name="name"/> is one of the client's custom tools (<see cref="ToolDefinition.IsCustom"/>), whose
    /// calls go back to it as custom tool calls rather than function calls.
    /// </summary>
    public static bool IsCustomTool(IReadOnlyList<ToolDefinition> tools, string name)
    {
        foreach (var tool in tools)
        {
            if (tool.IsCustom && tool.Name == name)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A call to a custom tool as openai-python's <c>ChatCompletionMessageCustomToolCall</c> has it:
    /// <c>{"id":…,"type":"custom","custom":{"name":…,"input":…}}</c>.
    /// </summary>
    public static void WriteCustomToolCall(Utf8JsonWriter writer, string id, string name, string input)
    {
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("type", "custom");
        writer.WriteStartObject("custom");
        writer.WriteString("name", name);
        writer.WriteString("input", input);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Reads <c>{"error": {"message": ...}}</c>, or the bare <c>{"error": "..."}</c> some compatible servers send.</summary>
    public static string? ReadErrorMessage(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("error", out var error))
        {
            return null;
        }

        return error.ValueKind switch
        {
            JsonValueKind.Object => JsonFields.GetString(error, "message"),
            JsonValueKind.String => error.GetString(),
            _ => null,
        };
    }
}
