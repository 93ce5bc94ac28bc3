using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

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
        InputTokens = JsonFields.GetInt64(usage, "input_tokens"),
        OutputTokens = JsonFields.GetInt64(usage, "output_tokens"),
        CacheReadTokens = JsonFields.GetInt64(usage, "cache_read_input_tokens"),
        CacheWriteTokens = JsonFields.GetInt64(usage, "cache_creation_input_tokens"),
    };

    public static Usage ReadUsage(JsonElement usage) => new()
    {
        InputTokens = JsonFields.GetInt64(usage, "input_tokens") ?? 0,
        OutputTokens = JsonFields.GetInt64(usage, "output_tokens") ?? 0,
        CacheReadTokens = JsonFields.GetInt64(usage, "cache_read_input_tokens") ?? 0,
        CacheWriteTokens = JsonFields.GetInt64(usage, "cache_creation_input_tokens") ?? 0,
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



}
