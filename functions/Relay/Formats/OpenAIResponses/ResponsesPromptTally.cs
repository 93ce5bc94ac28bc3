using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>
/// Hands a Responses body's prompt to an <see cref="IPromptTally"/> read in place: the parts
/// <see cref="ResponsesRequestReader"/> would put in the canonical request, found without building it, so a token
/// limit on a same-format relay costs no strings and no object graph.
/// </summary>
/// <remarks>
/// Follows the reader's successful path item by item, dropping what it drops and joining the items it joins into one
/// message; wherever the reader could refuse the body, it answers false and the caller reads the canonical request,
/// which gives the count or the error. The tests hold the two to the same count, but for an <c>allowed_tools</c> choice:
/// the reader offers only the listed tools, the tally counts every tool in the body, which a same-format relay sends.
/// </remarks>
internal static class ResponsesPromptTally
{
    public static bool TryTally(JsonElement body, IPromptTally to)
    {
        if (JsonFields.CheckText(body) is not null)
        {
            return false;
        }

        // No input: the request continues what the upstream stores (previous_response_id, conversation, prompt), which
        // the head has checked; the body's own instructions and tools are what there is to count.
        var hasInput = JsonFields.TryGetPresent(body, "input"u8, out var input);

        if (JsonFields.TryGetPresent(body, "instructions"u8, out _) && !to.TryAddText(body, "instructions"u8))
        {
            return false;
        }

        if (hasInput && input.ValueKind == JsonValueKind.String)
        {
            to.AddMessage();
            to.AddText(input);
        }
        else if (hasInput && (input.ValueKind != JsonValueKind.Array || !TryItems(input, to)))
        {
            return false;
        }

        return TryTools(body, to);
    }

    private static bool TryItems(JsonElement input, IPromptTally to)
    {
        // The role of the last canonical message: calls join an assistant turn, results a tool turn
        // (ResponsesRequestReader.ReadFunctionCall and ReadFunctionCallOutput), and the relay's reasoning an assistant
        // turn whose text joins it too (ReadReasoning, ReadMessage); system parts are no message.
        var last = Turn.None;
        foreach (var item in input.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            if (!JsonFields.TryGetPresent(item, "type"u8, out var type) || JsonFields.IsText(type, "message"u8))
            {
                if (!TryMessage(item, to, ref last))
                {
                    return false;
                }
            }
            else if (type.ValueKind != JsonValueKind.String)
            {
                return false;
            }
            else if (JsonFields.IsText(type, "function_call"u8))
            {
                if (!JsonFields.TryGetString(item, "call_id"u8, out _) || !to.TryAddText(item, "name"u8) || !to.TryAddText(item, "arguments"u8))
                {
                    return false;
                }

                Join(Turn.Assistant, to, ref last);
            }
            else if (JsonFields.IsText(type, "custom_tool_call"u8))
            {
                // The reader makes the free text the arguments of the function that stands for the tool.
                if (!JsonFields.TryGetString(item, "call_id"u8, out _) || !to.TryAddText(item, "name"u8) || !JsonFields.TryGetString(item, "input"u8, out var freeText))
                {
                    return false;
                }

                to.AddText(OpenAICustomTool.Arguments(freeText.GetString()!));
                Join(Turn.Assistant, to, ref last);
            }
            else if (JsonFields.IsText(type, "function_call_output"u8) || JsonFields.IsText(type, "custom_tool_call_output"u8))
            {
                if (!JsonFields.TryGetString(item, "call_id"u8, out _) || !JsonFields.TryGetPresent(item, "output"u8, out var output)
                    || !TryContent(output, to, keepMedia: true))
                {
                    return false;
                }

                Join(Turn.Tool, to, ref last);
            }
            else if (JsonFields.IsText(type, "reasoning"u8) && ResponsesSignedReasoning.TryRead(item, out var thinking))
            {
                to.AddText(thinking.Text);
                Join(Turn.Assistant, to, ref last);
                last = Turn.Thinking;
            }

            // Any other item type (OpenAI's own reasoning, built-in tool calls, item references) is dropped by the reader.
        }

        return true;
    }

    private static bool TryMessage(JsonElement item, IPromptTally to, ref Turn last)
    {
        if (!JsonFields.TryGetPresent(item, "role"u8, out var role) || !JsonFields.TryGetPresent(item, "content"u8, out var content))
        {
            return false;
        }

        if (JsonFields.IsText(role, "system"u8) || JsonFields.IsText(role, "developer"u8))
        {
            // Images and files have no place in the canonical system prompt: the reader checks them and keeps only the text.
            return TryContent(content, to, keepMedia: false);
        }

        var turn = JsonFields.IsText(role, "user"u8) ? Turn.User : JsonFields.IsText(role, "assistant"u8) ? Turn.Assistant : Turn.None;
        if (turn == Turn.None)
        {
            return false;
        }

        // Text joins a turn that reasoning opened (ResponsesRequestReader.ReadMessage), which still ends in the
        // reasoning when there is none; a message starts a turn otherwise.
        var joinsThinking = turn == Turn.Assistant && last == Turn.Thinking;
        if (!joinsThinking)
        {
            to.AddMessage();
        }

        last = joinsThinking && content.ValueKind == JsonValueKind.Array && content.GetArrayLength() == 0 ? Turn.Thinking : turn;
        return TryContent(content, to, keepMedia: true);
    }

    /// <summary>A new message unless the last one is of this turn (or reasoning opened it), which the reader extends instead.</summary>
    private static void Join(Turn turn, IPromptTally to, ref Turn last)
    {
        if (last != turn && !(last == Turn.Thinking && turn == Turn.Assistant))
        {
            to.AddMessage();
        }

        last = turn;
    }

    private static bool TryContent(JsonElement content, IPromptTally to, bool keepMedia)
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
            if (!JsonFields.TryGetString(part, "type"u8, out var type))
            {
                return false;
            }

            var read = JsonFields.IsText(type, "input_text"u8) || JsonFields.IsText(type, "output_text"u8) ? to.TryAddText(part, "text"u8)
                : JsonFields.IsText(type, "refusal"u8) ? to.TryAddText(part, "refusal"u8)
                : JsonFields.IsText(type, "input_image"u8) ? TryImage(part, to, keepMedia)
                : JsonFields.IsText(type, "input_file"u8) && TryFile(part, to, keepMedia);
            if (!read)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An image the reader takes: a non-empty <c>image_url</c>, and a <c>detail</c> that is a string if present.</summary>
    private static bool TryImage(JsonElement part, IPromptTally to, bool keep)
    {
        if (!JsonFields.TryGetString(part, "image_url"u8, out var url) || JsonFields.IsText(url, ""u8)
            || (JsonFields.TryGetPresent(part, "detail"u8, out var detail) && detail.ValueKind != JsonValueKind.String))
        {
            return false;
        }

        if (keep)
        {
            to.AddImage();
        }

        return true;
    }

    /// <summary>A file the reader takes: string fields, with inline <c>file_data</c> or a non-empty <c>file_url</c>.</summary>
    private static bool TryFile(JsonElement part, IPromptTally to, bool keep)
    {
        if (!JsonFields.IsAbsentOrString(part, "filename"u8) || !JsonFields.IsAbsentOrString(part, "file_data"u8)
            || !JsonFields.IsAbsentOrString(part, "file_url"u8) || !JsonFields.IsAbsentOrString(part, "file_id"u8)
            || !(JsonFields.TryGetPresent(part, "file_data"u8, out _) || (JsonFields.TryGetString(part, "file_url"u8, out var url) && !JsonFields.IsText(url, ""u8))))
        {
            return false;
        }

        if (keep)
        {
            to.AddDocument();
        }

        return true;
    }

    private static bool TryTools(JsonElement body, IPromptTally to) => to.TryEach(body, "tools"u8, static (tool, to) => TryTool(tool, to, inNamespace: false));

    private static bool TryTool(JsonElement tool, IPromptTally to, bool inNamespace)
    {
        if (!JsonFields.TryGetString(tool, "type"u8, out var type))
        {
            return false;
        }

        // A namespace's tools join the list (ResponsesRequestReader.ReadTools); a namespace in one is skipped.
        if (JsonFields.IsText(type, "namespace"u8) && !inNamespace)
        {
            return JsonFields.TryGetString(tool, "name"u8, out _) && to.TryEach(tool, "tools"u8, static (tool, to) => TryTool(tool, to, inNamespace: true));
        }

        var custom = JsonFields.IsText(type, "custom"u8);

        // Built-in tools are skipped by the reader.
        if (!custom && !JsonFields.IsText(type, "function"u8))
        {
            return true;
        }

        if (custom)
        {
            // The reader's description, with the grammar after it, and the function's one string argument.
            if (!to.TryAddText(tool, "name"u8) || !JsonFields.IsAbsentOrString(tool, "description"u8))
            {
                return false;
            }

            to.AddText(OpenAICustomTool.Description(JsonFields.GetString(tool, "description"), tool) ?? "");
            to.AddText(OpenAICustomTool.InputSchemaJson);
            return true;
        }

        if (!to.TryAddText(tool, "name"u8) || (JsonFields.TryGetPresent(tool, "description"u8, out _) && !to.TryAddText(tool, "description"u8)))
        {
            return false;
        }

        return to.TryAddParameters(tool, "parameters"u8);
    }

    private enum Turn
    {
        None,
        User,
        Assistant,
        Tool,

        /// <summary>An assistant turn whose last part is the relay's reasoning (ResponsesRequestReader.ReadReasoning).</summary>
        Thinking,
    }
}
