using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>Pieces of the Anthropic Messages wire format shared by the request, response and stream translators.</summary>
internal static class AnthropicWire
{
    public static StopReason ReadStopReason(string? value) => value switch
    {
        null or "end_turn" => StopReason.EndTurn,
        "max_tokens" => StopReason.MaxTokens,
        "stop_sequence" => StopReason.StopSequence,
        "tool_use" => StopReason.ToolUse,
        "refusal" => StopReason.ContentFilter,
        // pause_turn, model_context_window_exceeded and any value added later.
        _ => StopReason.Other,
    };

    public static string WriteStopReason(StopReason value) => value switch
    {
        StopReason.MaxTokens => "max_tokens",
        StopReason.StopSequence => "stop_sequence",
        StopReason.ToolUse => "tool_use",
        StopReason.ContentFilter => "refusal",
        // NOTE: Anthropic clients only know their own reasons; "Other" has no equivalent, and end_turn is the safe reading.
        _ => "end_turn",
    };

    /// <summary>Reads the token fields an Anthropic <c>usage</c> object carries; absent or null fields stay null.</summary>
    public static UsageReport ReadUsageReport(JsonElement usage) => new()
    {
        InputTokens = GetInt64(usage, "input_tokens"),
        OutputTokens = GetInt64(usage, "output_tokens"),
        CacheReadTokens = GetInt64(usage, "cache_read_input_tokens"),
        CacheWriteTokens = GetInt64(usage, "cache_creation_input_tokens"),
    };

    public static Usage ReadUsage(JsonElement usage) => new()
    {
        InputTokens = GetInt64(usage, "input_tokens") ?? 0,
        OutputTokens = GetInt64(usage, "output_tokens") ?? 0,
        CacheReadTokens = GetInt64(usage, "cache_read_input_tokens") ?? 0,
        CacheWriteTokens = GetInt64(usage, "cache_creation_input_tokens") ?? 0,
    };

    /// <summary>Writes <c>"usage": {...}</c> with the four token counters Anthropic clients read.</summary>
    public static void WriteUsage(Usage usage, Utf8JsonWriter writer, bool outputFirst = false)
    {
        writer.WriteStartObject("usage");
        if (outputFirst)
        {
            // message_delta puts output_tokens first; keep the upstream's field order so recorded streams compare byte for byte.
            writer.WriteNumber("output_tokens", usage.OutputTokens);
            writer.WriteNumber("input_tokens", usage.InputTokens);
        }
        else
        {
            writer.WriteNumber("input_tokens", usage.InputTokens);
            writer.WriteNumber("output_tokens", usage.OutputTokens);
        }

        writer.WriteNumber("cache_creation_input_tokens", usage.CacheWriteTokens);
        writer.WriteNumber("cache_read_input_tokens", usage.CacheReadTokens);
        writer.WriteEndObject();
    }

    public static void WriteNullableString(Utf8JsonWriter writer, string propertyName, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(propertyName);
        }
        else
        {
            writer.WriteString(propertyName, value);
        }
    }

    /// <summary>Writes a tool call's arguments JSON text as the <c>input</c> object; anything but an object becomes <c>{}</c>.</summary>
    public static void WriteToolInput(Utf8JsonWriter writer, string argumentsJson)
    {
        writer.WritePropertyName("input");
        if (!string.IsNullOrWhiteSpace(argumentsJson))
        {
            try
            {
                using var document = JsonDocument.Parse(argumentsJson);
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    document.RootElement.WriteTo(writer);
                    return;
                }
            }
            catch (JsonException)
            {
                // NOTE: OpenAI models occasionally emit truncated or invalid arguments; Anthropic requires an object, so fall through.
            }
        }

        writer.WriteStartObject();
        writer.WriteEndObject();
    }

    public static long? GetInt64(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object
        && obj.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.Number
        && value.TryGetInt64(out var number)
            ? number
            : null;

    public static string? GetString(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object
        && obj.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>A detached copy of an object property (e.g. <c>cache_control</c>), or null when absent or not an object.</summary>
    /// <remarks>NOTE: the copy must not point into the request's <see cref="JsonDocument"/>, which is disposed after parsing.</remarks>
    public static JsonObject? GetObject(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? JsonObject.Create(value.Clone())
            : null;
}
