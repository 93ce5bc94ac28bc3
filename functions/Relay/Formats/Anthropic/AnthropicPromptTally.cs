using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>
/// Hands a Messages body's prompt to an <see cref="IPromptTally"/> read in place: the parts
/// <see cref="AnthropicRequestReader"/> would put in the canonical request, found without building it, so a token limit
/// on a same-format relay costs no strings and no object graph.
/// </summary>
/// <remarks>
/// Follows the reader's successful path block by block, dropping what it drops; wherever the reader could refuse the
/// body, it answers false and the caller reads the canonical request, which gives the count or the error. The tests
/// hold the two to the same count.
/// </remarks>
internal static class AnthropicPromptTally
{
    public static bool TryTally(JsonElement body, IPromptTally to)
    {
        if (JsonFields.CheckText(body) is not null || !JsonFields.TryGetPresent(body, "messages"u8, out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var message in messages.EnumerateArray())
        {
            if (!TryMessage(message, to))
            {
                return false;
            }
        }

        return TrySystem(body, to) && TryTools(body, to);
    }

    private static bool TryMessage(JsonElement message, IPromptTally to)
    {
        if (!JsonFields.TryGetPresent(message, "role"u8, out var role) || !JsonFields.TryGetPresent(message, "content"u8, out var content))
        {
            return false;
        }

        var isUser = JsonFields.IsText(role, "user"u8);
        if (!isUser && !JsonFields.IsText(role, "assistant"u8))
        {
            return false;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            to.AddMessage();
            to.AddText(content);
            return true;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        // A user turn with tool results is a Tool message, then a User message when anything else is kept
        // (AnthropicRequestReader.ReadMessage); any other turn is one message.
        var results = false;
        var others = false;
        foreach (var block in content.EnumerateArray())
        {
            if (!TryBlock(block, isUser, to, out var kept))
            {
                return false;
            }

            results |= kept == Kept.ToolResult;
            others |= kept == Kept.Part;
        }

        to.AddMessage();
        if (results && others)
        {
            to.AddMessage();
        }

        return true;
    }

    private static bool TryBlock(JsonElement block, bool inUserTurn, IPromptTally to, out Kept kept)
    {
        kept = Kept.Nothing;
        if (!JsonFields.TryGetString(block, "type"u8, out var type))
        {
            return false;
        }

        if (JsonFields.IsText(type, "text"u8))
        {
            kept = Kept.Part;
            return to.TryAddText(block, "text"u8);
        }

        if (JsonFields.IsText(type, "image"u8))
        {
            return TryImage(block, to, out kept);
        }

        if (JsonFields.IsText(type, "document"u8))
        {
            kept = Kept.Part;
            return TryDocument(block, to);
        }

        if (JsonFields.IsText(type, "thinking"u8))
        {
            kept = Kept.Part;
            return to.TryAddText(block, "thinking"u8);
        }

        if (JsonFields.IsText(type, "tool_use"u8))
        {
            kept = Kept.Part;
            return !inUserTurn && TryToolUse(block, to);
        }

        if (JsonFields.IsText(type, "tool_result"u8))
        {
            kept = Kept.ToolResult;
            return inUserTurn && TryToolResult(block, to);
        }

        // Every other block type is dropped by the reader.
        return true;
    }

    private static bool TryToolUse(JsonElement block, IPromptTally to)
    {
        if (!JsonFields.TryGetString(block, "id"u8, out _) || !JsonFields.TryGetString(block, "name"u8, out var name)
            || !JsonFields.TryGetPresent(block, "input"u8, out var input) || input.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        to.AddText(name);
        to.AddText(input.GetRawText());
        return true;
    }

    private static bool TryToolResult(JsonElement block, IPromptTally to)
    {
        if (!JsonFields.TryGetString(block, "tool_use_id"u8, out _))
        {
            return false;
        }

        if (!JsonFields.TryGetPresent(block, "content"u8, out var content))
        {
            return true;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            to.AddText(content);
            return true;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var item in content.EnumerateArray())
        {
            if (!JsonFields.TryGetString(item, "type"u8, out var type))
            {
                // The reader reads a type that is not a string as none.
                return false;
            }

            var read = JsonFields.IsText(type, "text"u8) ? to.TryAddText(item, "text"u8)
                : JsonFields.IsText(type, "image"u8) ? TryImage(item, to, out _)
                : !JsonFields.IsText(type, "document"u8) || TryDocument(item, to);
            if (!read)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// An image the reader takes (base64 or URL source); one of a Files API source is refused, and one of another source
    /// type is dropped.
    /// </summary>
    private static bool TryImage(JsonElement block, IPromptTally to, out Kept kept)
    {
        kept = Kept.Nothing;
        if (!JsonFields.TryGetPresent(block, "source"u8, out var source) || !JsonFields.TryGetString(source, "type"u8, out var type))
        {
            return false;
        }

        var taken = JsonFields.IsText(type, "base64"u8) ? JsonFields.TryGetString(source, "media_type"u8, out _) && JsonFields.TryGetString(source, "data"u8, out _)
            : JsonFields.IsText(type, "url"u8) ? JsonFields.TryGetString(source, "url"u8, out _)
            : JsonFields.IsText(type, "file"u8) ? false
            : (bool?)null;
        if (taken is null)
        {
            return true;
        }

        if (taken is true)
        {
            kept = Kept.Part;
            to.AddImage();
        }

        return taken.Value;
    }

    /// <summary>A document the reader takes: a base64, URL or text source; every other source is refused.</summary>
    private static bool TryDocument(JsonElement block, IPromptTally to)
    {
        if (!JsonFields.TryGetPresent(block, "source"u8, out var source) || !JsonFields.TryGetString(source, "type"u8, out var type))
        {
            return false;
        }

        var taken = JsonFields.IsText(type, "base64"u8) ? JsonFields.TryGetString(source, "media_type"u8, out _) && JsonFields.TryGetString(source, "data"u8, out _)
            : JsonFields.IsText(type, "url"u8) ? JsonFields.TryGetString(source, "url"u8, out _)
            : JsonFields.IsText(type, "text"u8) && JsonFields.TryGetString(source, "data"u8, out _);
        if (taken)
        {
            to.AddDocument();
        }

        return taken;
    }

    private static bool TrySystem(JsonElement body, IPromptTally to)
    {
        if (!JsonFields.TryGetPresent(body, "system"u8, out var system))
        {
            return true;
        }

        if (system.ValueKind == JsonValueKind.String)
        {
            to.AddText(system);
            return true;
        }

        if (system.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var block in system.EnumerateArray())
        {
            if (!JsonFields.TryGetPresent(block, "type"u8, out var type) || !JsonFields.IsText(type, "text"u8) || !to.TryAddText(block, "text"u8))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryTools(JsonElement body, IPromptTally to) => to.TryEach(body, "tools"u8, static (tool, to) => TryTool(tool, to));

    private static bool TryTool(JsonElement tool, IPromptTally to)
    {
        if (tool.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        // Server tools are skipped by the reader; a type that is not a string reads as none, so as a custom tool.
        if (JsonFields.TryGetString(tool, "type"u8, out var type) && !JsonFields.IsText(type, "custom"u8))
        {
            return true;
        }

        if (!JsonFields.TryGetString(tool, "name"u8, out var name) || JsonFields.IsText(name, ""u8)
            || !JsonFields.TryGetPresent(tool, "input_schema"u8, out var schema) || schema.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        to.AddText(name);
        _ = to.TryAddText(tool, "description"u8); // optional: the reader ignores one that is not a string

        // The canonical request holds the schema as a node, and the estimate counts it as that node writes it.
        to.AddText(JsonObject.Create(schema)!.ToJsonString());

        return true;
    }

    /// <summary>What the reader keeps of a block: nothing (dropped), a part of the turn, or a tool result.</summary>
    private enum Kept
    {
        Nothing,
        Part,
        ToolResult,
    }
}
