using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>Writes the upstream <c>POST /v1/chat/completions</c> body for OpenAI or a compatible server.</summary>
internal static class OpenAIChatRequestWriter
{
    /// <summary>What a failed tool call's result starts with (<see cref="FlaggedContent"/>).</summary>
    private const string ErrorPrefix = "Error: ";

    public static void Write(ChatRequest request, string upstreamModel, OpenAIChatDialect dialect, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("model", upstreamModel);

        writer.WriteStartArray("messages");
        if (request.System.Count > 0)
        {
            writer.WriteStartObject();
            writer.WriteString("role", "system");
            WriteTextContent(request.System, dialect, writer);
            writer.WriteEndObject();
        }

        foreach (var message in request.Messages)
        {
            if (message.Role == ChatRole.Assistant)
            {
                WriteAssistant(message.Content, dialect, writer);
            }
            else
            {
                WriteUserOrToolResults(message.Content, dialect, writer);
            }
        }

        writer.WriteEndArray();

        // NOTE: OpenAI rejects tool_choice and parallel_tool_calls when no tools are given, so they go only with tools.
        if (request.Tools.Count > 0)
        {
            WriteTools(request.Tools, writer);
            if (request.ToolChoice is { } toolChoice)
            {
                WriteToolChoice(toolChoice, writer);
            }

            JsonFields.WriteBooleanIfPresent(writer, "parallel_tool_calls", request.ParallelToolCalls);
        }

        // NOTE: OpenAI's reasoning models refuse sampling settings other than their defaults, which other formats'
        // clients send by habit: left out for them.
        if (!OpenAIReasoning.RefusesSampling(upstreamModel))
        {
            JsonFields.WriteNumberIfPresent(writer, "temperature", request.Temperature);
            JsonFields.WriteNumberIfPresent(writer, "top_p", request.TopP);
            JsonFields.WriteNumberIfPresent(writer, "presence_penalty", request.PresencePenalty);
            JsonFields.WriteNumberIfPresent(writer, "frequency_penalty", request.FrequencyPenalty);
        }

        JsonFields.WriteNumberIfPresent(writer, "seed", request.Seed);
        // NOTE: OpenAI refuses more than a model's maximum, which Claude Code asks for on every request: capped to it.
        JsonFields.WriteNumberIfPresent(writer, dialect.MaxTokensField, OpenAIOutputLimit.Clamp(request.MaxOutputTokens, upstreamModel));

        // NOTE: OpenAI takes at most 4 stop sequences and refuses more; Anthropic clients may send more. The first four go.
        JsonFields.WriteStringsIfAny(writer, "stop", request.StopSequences, max: 4);

        if (request.Stream)
        {
            writer.WriteBoolean("stream", true);

            // The relay meters every stream, whatever the client asked: without this OpenAI sends no usage at all.
            writer.WriteStartObject("stream_options");
            writer.WriteBoolean("include_usage", true);
            writer.WriteEndObject();
        }

        JsonFields.WriteStringIfPresent(writer, "user", OpenAIUser.Of(request.User));

        if (request.OutputFormat is { Kind: not OutputFormatKind.Text } format)
        {
            OpenAIOutputFormat.Write(writer, "response_format", format, "json_schema");
        }

        if (request.Reasoning is { } reasoning && OpenAIReasoning.Accepts(upstreamModel))
        {
            JsonFields.WriteStringIfPresent(writer, "reasoning_effort", OpenAIReasoning.EffortName(reasoning));
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// Tool results become one <c>role: tool</c> message each (they must follow the assistant's tool calls directly);
    /// any other content of the turn becomes a user message after them.
    /// </summary>
    /// <remarks>
    /// NOTE: a tool message carries text only. The images and documents a tool returned (a screenshot, a file an agent
    /// read) go in that user message, each after a line naming its call, rather than be lost.
    /// </remarks>
    private static void WriteUserOrToolResults(IReadOnlyList<ContentPart> content, OpenAIChatDialect dialect, Utf8JsonWriter writer)
    {
        var userParts = 0;
        var toolMedia = 0;
        foreach (var part in content)
        {
            switch (part)
            {
                case ToolResultPart result:
                    writer.WriteStartObject();
                    writer.WriteString("role", "tool");
                    writer.WriteString("tool_call_id", result.ToolCallId);
                    WriteTextContent(FlaggedContent(result), dialect, writer);
                    writer.WriteEndObject();
                    foreach (var inner in result.Content)
                    {
                        toolMedia += IsToolMedia(inner) ? 1 : 0;
                    }

                    break;
                case TextPart or ImagePart or DocumentPart:
                    userParts++;
                    break;
            }
        }

        if (userParts == 0 && toolMedia == 0)
        {
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("role", "user");
        if (toolMedia == 0 && userParts == 1 && Single<TextPart>(content) is { } text && !WritesCacheControl(text.CacheControl, dialect))
        {
            writer.WriteString("content", text.Text);
        }
        else
        {
            writer.WriteStartArray("content");
            foreach (var part in content)
            {
                if (part is not ToolResultPart result)
                {
                    continue;
                }

                foreach (var inner in result.Content)
                {
                    if (IsToolMedia(inner))
                    {
                        WriteTextPart(new TextPart($"Returned by tool call {result.ToolCallId}:"), dialect, writer);
                        WriteUserPart(inner, dialect, writer);
                    }
                }
            }

            foreach (var part in content)
            {
                WriteUserPart(part, dialect, writer);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// A tool result's part that goes in the user message after it: an image, or a document this format can carry (one
    /// given by URL is kept from it by <see cref="OpenAIChatFormat.CannotCarry"/>, and would leave its line alone).
    /// </summary>
    private static bool IsToolMedia(ContentPart part) => part is ImagePart or DocumentPart { Data: not null };

    /// <summary>A text, image or document part of a user message; other parts write nothing.</summary>
    private static void WriteUserPart(ContentPart part, OpenAIChatDialect dialect, Utf8JsonWriter writer)
    {
        switch (part)
        {
            case TextPart textPart:
                WriteTextPart(textPart, dialect, writer);
                break;
            case ImagePart image:
                writer.WriteStartObject();
                writer.WriteString("type", "image_url");
                writer.WriteStartObject("image_url");
                writer.WriteString("url", OpenAIChatWire.ImageUrlOf(image));
                JsonFields.WriteStringIfPresent(writer, "detail", image.Detail);

                writer.WriteEndObject();
                WriteCacheControl(image.CacheControl, dialect, writer);
                writer.WriteEndObject();
                break;
            case DocumentPart document:
                WriteDocument(document, dialect, writer);
                break;
        }
    }

    /// <summary>
    /// Chat Completions takes files inline only, as a data URL with a filename (OpenAI refuses one without), and PDFs
    /// only: a text file goes as its text, which is what OpenAI's guide says to do with one.
    /// </summary>
    /// <remarks>
    /// NOTE: a document by URL has no form here; <see cref="OpenAIChatFormat.CannotCarry"/> keeps it from this writer.
    /// </remarks>
    private static void WriteDocument(DocumentPart document, OpenAIChatDialect dialect, Utf8JsonWriter writer)
    {
        if (document.Data is null)
        {
            return;
        }

        if (document.DecodeText() is { } text)
        {
            WriteTextPart(new TextPart(text, document.CacheControl), dialect, writer);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("type", "file");
        writer.WriteStartObject("file");
        writer.WriteString("filename", OpenAIChatWire.FileNameOf(document));
        writer.WriteString("file_data", DataUrl.Of(document.MediaType, document.Data));
        writer.WriteEndObject();
        WriteCacheControl(document.CacheControl, dialect, writer);
        writer.WriteEndObject();
    }

    private static void WriteAssistant(IReadOnlyList<ContentPart> content, OpenAIChatDialect dialect, Utf8JsonWriter writer)
    {
        var textParts = 0;
        var toolCalls = 0;
        var cacheControl = false;
        foreach (var part in content)
        {
            if (part is TextPart text)
            {
                textParts++;
                cacheControl |= WritesCacheControl(text.CacheControl, dialect);
            }
            else if (part is ToolCallPart)
            {
                toolCalls++;
            }
        }

        writer.WriteStartObject();
        writer.WriteString("role", "assistant");
        if (cacheControl)
        {
            writer.WriteStartArray("content");
            foreach (var part in content)
            {
                if (part is TextPart text)
                {
                    WriteTextPart(text, dialect, writer);
                }
            }

            writer.WriteEndArray();
        }
        else if (textParts > 0)
        {
            // One string: several compatible servers (Ollama among them) do not take part arrays on assistant turns.
            writer.WriteString("content", JoinText(content));
        }
        else if (toolCalls > 0)
        {
            writer.WriteNull("content");
        }
        else
        {
            // Nothing OpenAI can carry (e.g. thinking only); an empty turn keeps the user/assistant alternation intact.
            writer.WriteString("content", string.Empty);
        }

        if (toolCalls > 0)
        {
            writer.WriteStartArray("tool_calls");
            foreach (var part in content)
            {
                if (part is ToolCallPart call)
                {
                    writer.WriteStartObject();
                    writer.WriteString("id", call.Id);
                    writer.WriteString("type", "function");
                    writer.WriteStartObject("function");
                    writer.WriteString("name", UpstreamToolNames.OpenAI.Of(call.Name));
                    writer.WriteString("arguments", call.ArgumentsJson);
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// A tool result's content as the model reads it: a failed call's text starts with <c>Error: </c>.
    /// </summary>
    /// <remarks>
    /// NOTE: a tool message has no error flag, so an Anthropic client's <c>is_error: true</c> (Claude Code sets it when
    /// a command fails or a tool is refused) would reach the model as if the call had worked. The prefix is how other
    /// gateways carry it (claude-code-router, y-router and the like); Gemini has its own <c>error</c> key instead.
    /// </remarks>
    private static IReadOnlyList<ContentPart> FlaggedContent(ToolResultPart result)
    {
        if (!result.IsError)
        {
            return result.Content;
        }

        var content = new List<ContentPart>(result.Content.Count + 1);
        var flagged = false;
        foreach (var part in result.Content)
        {
            if (!flagged && part is TextPart text)
            {
                content.Add(text with { Text = ErrorPrefix + text.Text });
                flagged = true;
            }
            else
            {
                content.Add(part);
            }
        }

        if (!flagged)
        {
            content.Insert(0, new TextPart("Error"));
        }

        return content;
    }

    /// <summary>
    /// Writes <c>content</c> from text parts (system and tool messages take text only; other parts are dropped): a plain
    /// string when that loses nothing, else an array of text parts.
    /// </summary>
    private static void WriteTextContent<TPart>(IReadOnlyList<TPart> parts, OpenAIChatDialect dialect, Utf8JsonWriter writer)
        where TPart : ContentPart
    {
        var textParts = 0;
        TextPart? single = null;
        var cacheControl = false;
        foreach (var part in parts)
        {
            if (part is TextPart text)
            {
                textParts++;
                single = text;
                cacheControl |= WritesCacheControl(text.CacheControl, dialect);
            }
        }

        if (textParts == 0)
        {
            writer.WriteString("content", string.Empty);
        }
        else if (textParts == 1 && !cacheControl)
        {
            writer.WriteString("content", single!.Text);
        }
        else
        {
            writer.WriteStartArray("content");
            foreach (var part in parts)
            {
                if (part is TextPart text)
                {
                    WriteTextPart(text, dialect, writer);
                }
            }

            writer.WriteEndArray();
        }
    }

    private static void WriteTextPart(TextPart text, OpenAIChatDialect dialect, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "text");
        writer.WriteString("text", text.Text);
        WriteCacheControl(text.CacheControl, dialect, writer);
        writer.WriteEndObject();
    }

    private static void WriteTools(IReadOnlyList<ToolDefinition> tools, Utf8JsonWriter writer)
    {
        writer.WriteStartArray("tools");
        foreach (var tool in tools)
        {
            writer.WriteStartObject();
            writer.WriteString("type", "function");
            writer.WriteStartObject("function");
            writer.WriteString("name", UpstreamToolNames.OpenAI.Of(tool.Name));
            JsonFields.WriteStringIfPresent(writer, "description", tool.Description);

            writer.WritePropertyName("parameters");
            tool.Parameters.WriteTo(writer);
            JsonFields.WriteBooleanIfPresent(writer, "strict", tool.Strict);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private static void WriteToolChoice(ToolChoice toolChoice, Utf8JsonWriter writer)
    {
        switch (toolChoice.Kind)
        {
            case ToolChoiceKind.None:
                writer.WriteString("tool_choice", "none");
                break;
            case ToolChoiceKind.Required:
                writer.WriteString("tool_choice", "required");
                break;
            case ToolChoiceKind.Tool when toolChoice.Name is not null:
                writer.WriteStartObject("tool_choice");
                writer.WriteString("type", "function");
                writer.WriteStartObject("function");
                writer.WriteString("name", UpstreamToolNames.OpenAI.Of(toolChoice.Name));
                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
            default:
                writer.WriteString("tool_choice", "auto");
                break;
        }
    }

    private static bool WritesCacheControl(System.Text.Json.Nodes.JsonObject? cacheControl, OpenAIChatDialect dialect) =>
        cacheControl is not null && dialect.WritesCacheControl;

    private static void WriteCacheControl(System.Text.Json.Nodes.JsonObject? cacheControl, OpenAIChatDialect dialect, Utf8JsonWriter writer)
    {
        if (WritesCacheControl(cacheControl, dialect))
        {
            writer.WritePropertyName("cache_control");
            cacheControl!.WriteTo(writer);
        }
    }

    private static T? Single<T>(IReadOnlyList<ContentPart> content)
        where T : ContentPart
    {
        foreach (var part in content)
        {
            if (part is T match)
            {
                return match;
            }
        }

        return null;
    }

    private static string JoinText(IReadOnlyList<ContentPart> content)
    {
        string? first = null;
        System.Text.StringBuilder? builder = null;
        foreach (var part in content)
        {
            if (part is not TextPart text)
            {
                continue;
            }

            if (first is null)
            {
                first = text.Text;
            }
            else
            {
                builder ??= new System.Text.StringBuilder(first);
                builder.Append(text.Text);
            }
        }

        return builder?.ToString() ?? first ?? string.Empty;
    }
}
