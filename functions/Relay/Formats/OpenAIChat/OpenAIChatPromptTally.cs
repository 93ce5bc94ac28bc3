using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>
/// Hands a chat completion body's prompt to an <see cref="IPromptTally"/> read in place: the parts
/// <see cref="OpenAIChatRequestReader"/> would put in the canonical request, found without building it, so a token
/// limit on a same-format relay costs no strings and no object graph.
/// </summary>
/// <remarks>
/// Follows the reader's successful path field by field; wherever the reader could refuse the body (or where this
/// reading does not follow it), it answers false and the caller reads the canonical request, which gives the count or
/// the error. The tests hold the two to the same count.
/// </remarks>
internal static class OpenAIChatPromptTally
{
    public static bool TryTally(JsonElement body, IPromptTally to)
    {
        if (JsonFields.CheckText(body) is not null || !JsonFields.TryGetPresent(body, "messages"u8, out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        // Consecutive tool messages are one canonical message (OpenAIChatRequestReader.ReadToolResult).
        var afterToolResult = false;
        foreach (var message in messages.EnumerateArray())
        {
            if (!JsonFields.TryGetPresent(message, "role"u8, out var role))
            {
                return false;
            }

            if (JsonFields.IsText(role, "system"u8) || JsonFields.IsText(role, "developer"u8))
            {
                // System parts are no message, so they do not end a run of tool results either.
                if (!JsonFields.TryGetPresent(message, "content"u8, out var content) || !TryContent(content, to, Kinds.Text))
                {
                    return false;
                }

                continue;
            }

            var isToolResult = JsonFields.IsText(role, "tool"u8);
            var tallied = isToolResult ? TryToolResult(message, to, afterToolResult)
                : JsonFields.IsText(role, "user"u8) ? TryUser(message, to)
                : JsonFields.IsText(role, "assistant"u8) && TryAssistant(message, to);
            if (!tallied)
            {
                return false;
            }

            afterToolResult = isToolResult;
        }

        return TryTools(body, to);
    }

    private static bool TryUser(JsonElement message, IPromptTally to)
    {
        to.AddMessage();
        return JsonFields.TryGetPresent(message, "content"u8, out var content) && TryContent(content, to, Kinds.Text | Kinds.Image | Kinds.File);
    }

    private static bool TryToolResult(JsonElement message, IPromptTally to, bool afterToolResult)
    {
        if (!afterToolResult)
        {
            to.AddMessage();
        }

        return JsonFields.TryGetString(message, "tool_call_id"u8, out _)
            && JsonFields.TryGetPresent(message, "content"u8, out var content)
            && TryContent(content, to, Kinds.Text | Kinds.Image);
    }

    private static bool TryAssistant(JsonElement message, IPromptTally to)
    {
        to.AddMessage();
        if (JsonFields.TryGetPresent(message, "content"u8, out var content) && !TryContent(content, to, Kinds.Text | Kinds.Refusal))
        {
            return false;
        }

        if (JsonFields.TryGetPresent(message, "refusal"u8, out var refusal))
        {
            if (refusal.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            to.AddText(refusal);
        }

        return to.TryEach(message, "tool_calls"u8, static (toolCall, to) => TryToolCall(toolCall, to));
    }

    private static bool TryToolCall(JsonElement toolCall, IPromptTally to)
    {
        if (JsonFields.TryGetPresent(toolCall, "type"u8, out var customType) && JsonFields.IsText(customType, "custom"u8))
        {
            // The reader makes the free text the arguments of the function that stands for the tool.
            if (!JsonFields.TryGetString(toolCall, "id"u8, out _)
                || !JsonFields.TryGetPresent(toolCall, "custom"u8, out var custom) || custom.ValueKind != JsonValueKind.Object
                || !to.TryAddText(custom, "name"u8) || !JsonFields.TryGetString(custom, "input"u8, out var input))
            {
                return false;
            }

            to.AddText(OpenAICustomTool.Arguments(input.GetString()!));
            return true;
        }

        if (!JsonFields.TryGetString(toolCall, "id"u8, out _)
            || (JsonFields.TryGetPresent(toolCall, "type"u8, out var type) && !JsonFields.IsText(type, "function"u8))
            || !JsonFields.TryGetPresent(toolCall, "function"u8, out var function)
            || !JsonFields.TryGetString(function, "name"u8, out var name))
        {
            return false;
        }

        to.AddText(name);
        if (!JsonFields.TryGetPresent(function, "arguments"u8, out var arguments))
        {
            to.AddText(OpenAIChatRequestReader.NoArguments);
            return true;
        }

        switch (arguments.ValueKind)
        {
            case JsonValueKind.Object:
                to.AddText(arguments.GetRawText());
                return true;
            case JsonValueKind.String when JsonFields.IsText(arguments, ""u8):
                to.AddText(OpenAIChatRequestReader.NoArguments);
                return true;
            case JsonValueKind.String:
                to.AddText(arguments);
                return true;
            default:
                return false;
        }
    }

    private static bool TryContent(JsonElement content, IPromptTally to, Kinds allowed)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            to.AddText(content);
            return true;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var part in content.EnumerateArray())
        {
            if (!JsonFields.TryGetPresent(part, "type"u8, out var type))
            {
                return false;
            }

            if (JsonFields.IsText(type, "text"u8) && (allowed & Kinds.Text) != 0)
            {
                if (!to.TryAddText(part, "text"u8))
                {
                    return false;
                }
            }
            else if (JsonFields.IsText(type, "refusal"u8) && (allowed & Kinds.Refusal) != 0)
            {
                if (!to.TryAddText(part, "refusal"u8))
                {
                    return false;
                }
            }
            else if (JsonFields.IsText(type, "image_url"u8) && (allowed & Kinds.Image) != 0 && IsImage(part))
            {
                to.AddImage();
            }
            else if (JsonFields.IsText(type, "file"u8) && (allowed & Kinds.File) != 0 && IsInlineFile(part))
            {
                to.AddDocument();
            }
            else
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An image the reader takes: an object with a string <c>url</c>, or the URL string alone.</summary>
    private static bool IsImage(JsonElement part) =>
        JsonFields.TryGetPresent(part, "image_url"u8, out var image)
        && (image.ValueKind == JsonValueKind.String || JsonFields.TryGetString(image, "url"u8, out _));

    /// <summary>A file the reader takes: inline <c>file_data</c>, with a string filename and file_id if present.</summary>
    private static bool IsInlineFile(JsonElement part) =>
        JsonFields.TryGetPresent(part, "file"u8, out var file)
        && JsonFields.TryGetString(file, "file_data"u8, out _)
        && JsonFields.IsAbsentOrString(file, "filename"u8)
        && JsonFields.IsAbsentOrString(file, "file_id"u8);

    private static bool TryTools(JsonElement body, IPromptTally to) => to.TryEach(body, "tools"u8, static (tool, to) => TryTool(tool, to));

    private static bool TryTool(JsonElement tool, IPromptTally to)
    {
        if (JsonFields.TryGetPresent(tool, "type"u8, out var customType) && JsonFields.IsText(customType, "custom"u8))
        {
            // The reader's description, with the grammar after it, and the function's one string argument.
            if (!JsonFields.TryGetPresent(tool, "custom"u8, out var custom) || custom.ValueKind != JsonValueKind.Object
                || !to.TryAddText(custom, "name"u8) || !JsonFields.IsAbsentOrString(custom, "description"u8))
            {
                return false;
            }

            to.AddText(OpenAICustomTool.Description(JsonFields.GetString(custom, "description"), custom) ?? "");
            to.AddText(OpenAICustomTool.InputSchemaJson);
            return true;
        }

        if (!JsonFields.TryGetPresent(tool, "type"u8, out var type) || !JsonFields.IsText(type, "function"u8)
            || !JsonFields.TryGetPresent(tool, "function"u8, out var function) || function.ValueKind != JsonValueKind.Object
            || !JsonFields.TryGetString(function, "name"u8, out var name))
        {
            return false;
        }

        to.AddText(name);
        _ = to.TryAddText(function, "description"u8); // optional: the reader ignores one that is not a string

        return to.TryAddParameters(function, "parameters"u8);
    }

    [Flags]
    private enum Kinds
    {
        Text = 1,
        Image = 2,
        Refusal = 4,
        File = 8,
    }
}
