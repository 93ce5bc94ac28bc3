using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>
/// Hands a generateContent body's prompt to an <see cref="IPromptTally"/> read in place: the parts
/// <see cref="GeminiRequestReader"/> would put in the canonical request, found without building it, so a token limit on
/// a same-format relay costs no strings and no object graph.
/// </summary>
/// <remarks>
/// Follows the reader's successful path part by part, camelCase and snake_case alike, dropping what it drops; where a
/// text is not in the body as such (a function response's unwrapped result, a tool's converted schema) it asks the
/// reader's own code for it. Wherever the reader could refuse the body, it answers false and the caller reads the
/// canonical request, which gives the count or the error. The tests hold the two to the same count.
/// </remarks>
internal static class GeminiPromptTally
{
    public static bool TryTally(JsonElement body, IPromptTally to)
    {
        if (JsonFields.CheckText(body) is not null || body.ValueKind != JsonValueKind.Object
            || !JsonFields.TryGetPresent(body, "contents"u8, out var contents) || contents.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var content in contents.EnumerateArray())
        {
            if (!TryContent(content, to))
            {
                return false;
            }
        }

        // Cached content is refused by the reader; what the body itself holds is counted first.
        return TrySystem(body, to) && TryTools(body, to) && !GeminiJson.TryGet(body, "cachedContent", "cached_content", out _);
    }

    private static bool TrySystem(JsonElement body, IPromptTally to)
    {
        if (!GeminiJson.TryGet(body, "systemInstruction", "system_instruction", out var instruction))
        {
            return true;
        }

        if (instruction.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (!JsonFields.TryGetPresent(instruction, "parts"u8, out var parts))
        {
            return true;
        }

        if (parts.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var part in parts.EnumerateArray())
        {
            if (!to.TryAddText(part, "text"u8))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryContent(JsonElement content, IPromptTally to)
    {
        if (content.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var isModel = false;
        if (JsonFields.TryGetPresent(content, "role"u8, out var role))
        {
            isModel = JsonFields.IsText(role, "model"u8);
            if (!isModel && !JsonFields.IsText(role, "user"u8) && !JsonFields.IsText(role, "function"u8) && !JsonFields.IsText(role, ""u8))
            {
                return false;
            }
        }

        if (!JsonFields.TryGetPresent(content, "parts"u8, out var parts) || parts.ValueKind != JsonValueKind.Array || parts.GetArrayLength() == 0)
        {
            return false;
        }

        // Function responses are a Tool message; the rest kept (text, thoughts, a model's calls, images) one more.
        var results = false;
        var items = false;
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            bool read;
            if (part.TryGetProperty("text"u8, out var text))
            {
                // A thought is text to the estimate too.
                read = text.ValueKind == JsonValueKind.String;
                if (read)
                {
                    to.AddText(text);
                    items = true;
                }
            }
            else if (GeminiJson.TryGet(part, "functionCall", "function_call", out var call))
            {
                read = TryFunctionCall(call, isModel, to);
                items |= isModel;
            }
            else if (GeminiJson.TryGet(part, "functionResponse", "function_response", out var response))
            {
                read = TryFunctionResponse(response, to);
                results = true;
            }
            else if (TryMediaPart(part, to) is { } media)
            {
                read = media;
                items = true;
            }
            else
            {
                // Parts with no canonical form (executableCode, videoMetadata...) are dropped by the reader.
                continue;
            }

            if (!read)
            {
                return false;
            }
        }

        if (results)
        {
            to.AddMessage();
        }

        if (items)
        {
            to.AddMessage();
        }

        return true;
    }

    /// <summary>An <c>inlineData</c> or <c>fileData</c> part, read as the reader reads it; null when the part is neither.</summary>
    private static bool? TryMediaPart(JsonElement part, IPromptTally to)
    {
        if (GeminiJson.TryGet(part, "inlineData", "inline_data", out var inline))
        {
            var mimeType = inline.ValueKind == JsonValueKind.Object ? GeminiJson.GetString(inline, "mimeType", "mime_type") : null;
            return TryMedia(mimeType is not null && JsonFields.TryGetString(inline, "data"u8, out _), mimeType, to);
        }

        if (GeminiJson.TryGet(part, "fileData", "file_data", out var file))
        {
            var uri = file.ValueKind == JsonValueKind.Object ? GeminiJson.GetString(file, "fileUri", "file_uri") : null;
            return TryMedia(uri is not null && !StoredFiles.IsGeminiFile(uri), uri is null ? null : GeminiJson.GetString(file, "mimeType", "mime_type"), to);
        }

        return null;
    }

    /// <summary>
    /// A media part the reader takes (inline data with a MIME type, or a URI outside Gemini's file store) is one image or
    /// one document, as <see cref="GeminiWire.Media"/> tells them apart.
    /// </summary>
    private static bool TryMedia(bool taken, string? mimeType, IPromptTally to)
    {
        if (taken && GeminiWire.IsImage(mimeType))
        {
            to.AddImage();
        }
        else if (taken)
        {
            to.AddDocument();
        }

        return taken;
    }

    /// <summary>A call: its name and arguments, counted only in a model turn (the reader drops one in a user turn, after checking it).</summary>
    private static bool TryFunctionCall(JsonElement call, bool isModel, IPromptTally to)
    {
        if (call.ValueKind != JsonValueKind.Object || !JsonFields.TryGetString(call, "name"u8, out var name) || JsonFields.IsText(name, ""u8))
        {
            return false;
        }

        var hasArguments = JsonFields.TryGetPresent(call, "args"u8, out var arguments);
        if (hasArguments && arguments.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (isModel)
        {
            to.AddText(name);
            to.AddText(hasArguments ? arguments.GetRawText() : GeminiRequestReader.NoArguments);
        }

        return true;
    }

    private static bool TryFunctionResponse(JsonElement response, IPromptTally to)
    {
        if (response.ValueKind != JsonValueKind.Object || !JsonFields.TryGetString(response, "name"u8, out var name) || JsonFields.IsText(name, ""u8))
        {
            return false;
        }

        if (!JsonFields.TryGetPresent(response, "response"u8, out var value))
        {
            to.AddText(GeminiRequestReader.NoResponse);
        }
        else if (value.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        else
        {
            to.AddText(GeminiRequestReader.ResultText(value, out _));
        }

        // Images and documents the tool returned, in the response's own parts.
        if (!JsonFields.TryGetPresent(response, "parts"u8, out var parts))
        {
            return true;
        }

        if (parts.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || TryMediaPart(part, to) == false)
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

        // Built-in tools (googleSearch, codeExecution...) are dropped by the reader.
        if (!GeminiJson.TryGet(tool, "functionDeclarations", "function_declarations", out var declarations))
        {
            return true;
        }

        if (declarations.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var declaration in declarations.EnumerateArray())
        {
            if (!JsonFields.TryGetString(declaration, "name"u8, out var name) || JsonFields.IsText(name, ""u8))
            {
                return false;
            }

            to.AddText(name);
            _ = to.TryAddText(declaration, "description"u8); // optional: the reader ignores one that is not a string

            // The schema as the canonical request holds it: converted by the reader's own code, then written.
            to.AddText(GeminiRequestReader.ParametersOf(declaration).ToJsonString());
        }

        return true;
    }
}
