using System.Buffers;
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
        // NOTE: the answer was cut where the context window ended: cut short like one that reached max_tokens, which is
        // how other formats' clients learn that it is not whole.
        "max_tokens" or "model_context_window_exceeded" => StopReason.MaxTokens,
        "stop_sequence" => StopReason.StopSequence,
        "tool_use" => StopReason.ToolUse,
        "refusal" => StopReason.ContentFilter,
        // pause_turn and any value added later.
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

    /// <summary>
    /// A tool call's id as Anthropic takes it: Anthropic refuses any <c>tool_use.id</c> or <c>tool_use_id</c> outside
    /// <c>^[a-zA-Z0-9_-]+$</c>, and other upstreams make ids such as <c>functions.bash:0</c>. Each other character
    /// becomes <c>_</c>, the same way for a call and for its result, so the pair still matches; an Anthropic client
    /// sends the ids it got back through an Anthropic account unread, so they are mended before it sees them too.
    /// </summary>
    public static string ToolUseId(string id)
    {
        if (id.Length > 0 && !id.AsSpan().ContainsAnyExcept(ToolUseIdChars))
        {
            return id;
        }

        return id.Length == 0 ? "_" : string.Create(id.Length, id, static (chars, id) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = ToolUseIdChars.Contains(id[i]) ? id[i] : '_';
            }
        });
    }

    private static readonly SearchValues<char> ToolUseIdChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

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
