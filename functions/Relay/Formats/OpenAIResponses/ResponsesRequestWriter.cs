using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.OpenAIChat;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>Writes a <see cref="ChatRequest"/> as a <c>POST /v1/responses</c> body, for upstreams that only speak Responses.</summary>
internal static class ResponsesRequestWriter
{
    public static void Write(ChatRequest request, string upstreamModel, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("model", upstreamModel);
        if (JoinSystem(request.System) is { } instructions)
        {
            writer.WriteString("instructions", instructions);
        }

        writer.WriteStartArray("input");
        foreach (var message in request.Messages)
        {
            WriteMessage(writer, message);
        }

        writer.WriteEndArray();

        if (request.Tools.Count > 0)
        {
            writer.WriteStartArray("tools");
            foreach (var tool in request.Tools)
            {
                ResponsesWire.WriteFunctionTool(writer, tool, UpstreamToolNames.OpenAI);
            }

            writer.WriteEndArray();
        }

        if (request.ToolChoice is { } choice)
        {
            ResponsesWire.WriteToolChoice(writer, choice, UpstreamToolNames.OpenAI);
        }

        JsonFields.WriteBooleanIfPresent(writer, "parallel_tool_calls", request.ParallelToolCalls);
        // NOTE: OpenAI's reasoning models refuse sampling settings other than their defaults, which other formats'
        // clients send by habit: left out for them.
        if (!OpenAIReasoning.RefusesSampling(upstreamModel))
        {
            JsonFields.WriteNumberIfPresent(writer, "temperature", request.Temperature);
            JsonFields.WriteNumberIfPresent(writer, "top_p", request.TopP);
        }

        // NOTE: OpenAI refuses more than a model's maximum, which Claude Code asks for on every request: capped to it.
        JsonFields.WriteNumberIfPresent(writer, "max_output_tokens", OpenAIOutputLimit.Clamp(request.MaxOutputTokens, upstreamModel));

        if (request.Stream)
        {
            writer.WriteBoolean("stream", true);
        }

        JsonFields.WriteStringIfPresent(writer, "user", OpenAIUser.Of(request.User));

        if (request.OutputFormat is { Kind: not OutputFormatKind.Text } format)
        {
            writer.WriteStartObject("text");
            OpenAIOutputFormat.Write(writer, "format", format, schemaField: null);
            writer.WriteEndObject();
        }

        if (request.Reasoning is { } reasoning && OpenAIReasoning.Accepts(upstreamModel))
        {
            WriteReasoning(writer, reasoning);
        }

        // The relay keeps no conversation state, and a stored response would only cost the upstream account storage.
        writer.WriteBoolean("store", false);
        writer.WriteEndObject();
    }

    private static void WriteReasoning(Utf8JsonWriter writer, Reasoning reasoning)
    {
        var effort = OpenAIReasoning.EffortName(reasoning);
        var summary = reasoning.IncludeThoughts == true ? OpenAIReasoning.AutoSummary : null;
        if (effort is null && summary is null)
        {
            return;
        }

        writer.WriteStartObject("reasoning");
        JsonFields.WriteStringIfPresent(writer, "effort", effort);
        JsonFields.WriteStringIfPresent(writer, "summary", summary);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Responses has a single <c>instructions</c> string; several system parts are joined by blank lines
    /// (their cache markers have no Responses equivalent: OpenAI caches prefixes automatically).
    /// </summary>
    public static string? JoinSystem(IReadOnlyList<TextPart> system)
    {
        if (system.Count == 0)
        {
            return null;
        }

        if (system.Count == 1)
        {
            return system[0].Text;
        }

        var builder = new StringBuilder();
        for (var i = 0; i < system.Count; i++)
        {
            if (i > 0)
            {
                builder.Append("\n\n");
            }

            builder.Append(system[i].Text);
        }

        return builder.ToString();
    }

    /// <summary>
    /// One canonical message becomes one or more items: runs of text and images form a message item, and each tool
    /// call or tool result is an item of its own, in the order they appear.
    /// </summary>
    private static void WriteMessage(Utf8JsonWriter writer, ChatMessage message)
    {
        var content = message.Content;
        var role = message.Role == ChatRole.Assistant ? "assistant" : "user";
        var i = 0;
        while (i < content.Count)
        {
            switch (content[i])
            {
                case ToolCallPart call:
                    writer.WriteStartObject();
                    writer.WriteString("type", "function_call");
                    writer.WriteString("call_id", call.Id);
                    writer.WriteString("name", UpstreamToolNames.OpenAI.Of(call.Name));
                    writer.WriteString("arguments", call.ArgumentsJson);
                    writer.WriteEndObject();
                    i++;
                    break;
                case ToolResultPart result:
                    WriteToolResult(writer, result);
                    i++;
                    break;
                case TextPart or ImagePart or DocumentPart:
                    var end = i;
                    while (end < content.Count && content[end] is TextPart or ImagePart or DocumentPart)
                    {
                        end++;
                    }

                    WriteMessageItem(writer, role, content, i, end);
                    i = end;
                    break;
                default:
                    // Thinking from another provider cannot be replayed: Responses reasoning items must carry OpenAI's own ids and encrypted content.
                    i++;
                    break;
            }
        }
    }

    private static void WriteMessageItem(Utf8JsonWriter writer, string role, IReadOnlyList<ContentPart> content, int start, int end)
    {
        // NOTE: assistant content must use output_text parts; OpenAI rejects input_text in an assistant message.
        var textType = role == "assistant" ? "output_text" : "input_text";
        writer.WriteStartObject();
        writer.WriteString("type", "message");
        writer.WriteString("role", role);
        writer.WriteStartArray("content");
        for (var i = start; i < end; i++)
        {
            if (content[i] is TextPart text)
            {
                WriteText(writer, textType, text.Text);
            }
            else if (content[i] is ImagePart image && role == "user")
            {
                WriteImage(writer, image);
            }
            else if (content[i] is DocumentPart document && role == "user")
            {
                WriteFile(writer, document);
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteToolResult(Utf8JsonWriter writer, ToolResultPart result)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "function_call_output");
        writer.WriteString("call_id", result.ToolCallId);
        if (IsTextOnly(result.Content))
        {
            // The plain-string form is what every Responses-compatible server accepts.
            writer.WriteString("output", JoinText(result.Content));
        }
        else
        {
            writer.WriteStartArray("output");
            foreach (var part in result.Content)
            {
                if (part is TextPart text)
                {
                    WriteText(writer, "input_text", text.Text);
                }
                else if (part is ImagePart image)
                {
                    WriteImage(writer, image);
                }
                else if (part is DocumentPart document)
                {
                    WriteFile(writer, document);
                }
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static bool IsTextOnly(IReadOnlyList<ContentPart> content)
    {
        foreach (var part in content)
        {
            if (part is ImagePart or DocumentPart)
            {
                return false;
            }
        }

        return true;
    }

    private static string JoinText(IReadOnlyList<ContentPart> content)
    {
        if (content.Count == 1 && content[0] is TextPart only)
        {
            return only.Text;
        }

        var builder = new StringBuilder();
        foreach (var part in content)
        {
            if (part is TextPart text)
            {
                if (builder.Length > 0)
                {
                    builder.Append('\n');
                }

                builder.Append(text.Text);
            }
        }

        return builder.ToString();
    }

    private static void WriteText(Utf8JsonWriter writer, string type, string text)
    {
        writer.WriteStartObject();
        writer.WriteString("type", type);
        writer.WriteString("text", text);
        writer.WriteEndObject();
    }

    private static void WriteImage(Utf8JsonWriter writer, ImagePart image)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "input_image");
        if (image.Data is not null)
        {
            writer.WriteString("image_url", DataUrl.Of(image.MediaType ?? "image/png", image.Data));
        }
        else
        {
            writer.WriteString("image_url", image.Url);
        }

        // NOTE: the API schema lists detail as required on input_image; "auto" is its documented default.
        writer.WriteString("detail", image.Detail ?? "auto");
        writer.WriteEndObject();
    }

    /// <summary>An <c>input_file</c>: inline as a data URL with its filename (OpenAI refuses file data without one), or by <c>file_url</c>.</summary>
    private static void WriteFile(Utf8JsonWriter writer, DocumentPart document)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "input_file");
        if (document.Data is not null)
        {
            writer.WriteString("filename", OpenAIChatWire.FileNameOf(document));
            writer.WriteString("file_data", DataUrl.Of(document.MediaType, document.Data));
        }
        else
        {
            JsonFields.WriteStringIfPresent(writer, "filename", document.Name);
            writer.WriteString("file_url", document.Url);
        }

        writer.WriteEndObject();
    }
}
