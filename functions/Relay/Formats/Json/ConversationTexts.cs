using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Json;

/// <summary>The texts of one message's content, as every format's <c>ReadConversationStart</c> hands them on.</summary>
internal static class ConversationTexts
{
    /// <summary>
    /// The content's texts: the string itself, or the <c>text</c> of each part whose <c>type</c> is
    /// <paramref name="type"/> or <paramref name="otherType"/> (with no type given, of every part that has one, as
    /// Gemini's parts). Anything else is no text, as the canonical readers keep no text of it.
    /// </summary>
    public static void Add(JsonElement content, IConversationStart to, bool system, ReadOnlySpan<byte> type = default, ReadOnlySpan<byte> otherType = default)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            Add(to, system, content);
            return;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var part in content.EnumerateArray())
        {
            if (JsonFields.TryGetPresent(part, "text", out var text) && text.ValueKind == JsonValueKind.String && IsOfType(part, type, otherType))
            {
                Add(to, system, text);
            }
        }
    }

    /// <summary>The first element of <paramref name="messages"/> whose <c>role</c> is <paramref name="role"/> (or has none, when <paramref name="orNone"/>).</summary>
    public static bool TryFindFirst(JsonElement messages, ReadOnlySpan<byte> role, out JsonElement message, bool orNone = false)
    {
        if (messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var candidate in messages.EnumerateArray())
            {
                var hasRole = JsonFields.TryGetPresent(candidate, "role", out var roleElement);
                if (hasRole ? JsonFields.IsText(roleElement, role) : orNone && candidate.ValueKind == JsonValueKind.Object)
                {
                    message = candidate;
                    return true;
                }
            }
        }

        message = default;
        return false;
    }

    /// <summary>Whether the element's <c>role</c> is one of the two given.</summary>
    public static bool HasRole(JsonElement message, ReadOnlySpan<byte> role, ReadOnlySpan<byte> otherRole) =>
        JsonFields.TryGetPresent(message, "role", out var element) && (JsonFields.IsText(element, role) || JsonFields.IsText(element, otherRole));

    private static bool IsOfType(JsonElement part, ReadOnlySpan<byte> type, ReadOnlySpan<byte> otherType) =>
        type.IsEmpty
        || (JsonFields.TryGetPresent(part, "type", out var element) && (JsonFields.IsText(element, type) || (!otherType.IsEmpty && JsonFields.IsText(element, otherType))));

    private static void Add(IConversationStart to, bool system, JsonElement text)
    {
        if (system)
        {
            to.AddSystem(text);
        }
        else
        {
            to.AddUser(text);
        }
    }
}
