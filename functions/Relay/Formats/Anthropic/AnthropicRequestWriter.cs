using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>
/// Writes a <see cref="ChatRequest"/> as a Messages API request body for an Anthropic upstream.
/// </summary>
internal static class AnthropicRequestWriter
{
    /// <summary>
    /// Anthropic refuses a stop sequence of whitespace alone ("each stop sequence must contain non-whitespace"), which
    /// OpenAI clients send (<c>"\n"</c>): those are left out, and the others kept.
    /// </summary>
    private static void WriteStopSequences(IReadOnlyList<string> stops, Utf8JsonWriter writer)
    {
        var started = false;
        foreach (var stop in stops)
        {
            if (string.IsNullOrWhiteSpace(stop))
            {
                continue;
            }

            if (!started)
            {
                writer.WriteStartArray("stop_sequences");
                started = true;
            }

            writer.WriteStringValue(stop);
        }

        if (started)
        {
            writer.WriteEndArray();
        }
    }

    /// <summary>Anthropic requires <c>max_tokens</c>; OpenAI and Gemini clients may leave it out.</summary>
    public const int DefaultMaxTokens = 4096;

    public static void Write(ChatRequest request, string upstreamModel, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("model", upstreamModel);
        writer.WriteNumber("max_tokens", request.MaxOutputTokens ?? DefaultMaxTokens);
        WriteSystem(request.System, writer);
        WriteMessages(request.Messages, writer);
        WriteTools(request, writer);

        // NOTE: Anthropic's temperature runs from 0 to 1 and refuses more; OpenAI's and Gemini's run to 2. The most
        // random Claude samples is what a client asking for more than 1 gets.
        if (request.Temperature is { } temperature)
        {
            writer.WriteNumber("temperature", Math.Clamp(temperature, 0, 1));
        }

        // NOTE: Claude models since the 4.5 generation refuse temperature and top_p together ("cannot both be
        // specified"), and clients send both by habit (0.7 with 0.95). The temperature is kept: it is what every format has.
        if (request.TopP is { } topP && request.Temperature is null)
        {
            writer.WriteNumber("top_p", topP);
        }

        WriteStopSequences(request.StopSequences, writer);

        if (request.Stream)
        {
            writer.WriteBoolean("stream", true);
        }

        if (request.User is not null)
        {
            writer.WriteStartObject("metadata");
            writer.WriteString("user_id", request.User);
            writer.WriteEndObject();
        }

        WriteOutputFormat(request.OutputFormat, writer);
        writer.WriteEndObject();
    }

    /// <summary>
    /// A JSON schema goes in <c>output_config.format</c> (generally available, no beta header; it replaced the beta
    /// <c>output_format</c>): https://platform.claude.com/docs/en/build-with-claude/structured-outputs. A model without
    /// structured outputs refuses it with its own 400, which beats prose the client cannot parse.
    /// </summary>
    /// <remarks>
    /// NOTE: Anthropic has no schema-less JSON mode. A <c>json_object</c> request goes without a format, as before: the
    /// client's prompt must already ask for JSON (OpenAI requires that too), and refusing it would break common clients.
    /// </remarks>
    private static void WriteOutputFormat(OutputFormat? format, Utf8JsonWriter writer)
    {
        if (format is not { Kind: OutputFormatKind.JsonSchema, Schema: { } schema })
        {
            return;
        }

        writer.WriteStartObject("output_config");
        writer.WriteStartObject("format");
        writer.WriteString("type", "json_schema");
        writer.WritePropertyName("schema");
        schema.WriteTo(writer);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>A plain string unless some part carries <c>cache_control</c>, which only the block form can hold.</summary>
    private static void WriteSystem(IReadOnlyList<TextPart> system, Utf8JsonWriter writer)
    {
        if (system.Count == 0)
        {
            return;
        }

        var anyCacheControl = false;
        foreach (var part in system)
        {
            anyCacheControl |= part.CacheControl is not null;
        }

        if (anyCacheControl)
        {
            writer.WriteStartArray("system");
            foreach (var part in system)
            {
                // Anthropic rejects empty text blocks.
                if (part.Text.Length > 0)
                {
                    AnthropicContentWriter.WriteText(writer, part);
                }
            }

            writer.WriteEndArray();
        }
        else if (system.Count == 1)
        {
            writer.WriteString("system", system[0].Text);
        }
        else
        {
            writer.WriteString("system", string.Join("\n\n", system.Select(static part => part.Text)));
        }
    }

    /// <summary>
    /// Anthropic requires user and assistant turns to alternate and keeps tool results in user turns, so consecutive
    /// messages that map to the same role are merged into one turn, and messages with nothing writable are skipped
    /// without breaking a run.
    /// </summary>
    private static void WriteMessages(IReadOnlyList<ChatMessage> messages, Utf8JsonWriter writer)
    {
        writer.WriteStartArray("messages");
        var start = 0;
        while (start < messages.Count)
        {
            if (!HasWritableContent(messages[start]))
            {
                start++;
                continue;
            }

            var isUser = messages[start].Role != ChatRole.Assistant;
            var end = start + 1;
            while (end < messages.Count && (!HasWritableContent(messages[end]) || (messages[end].Role != ChatRole.Assistant) == isUser))
            {
                end++;
            }

            writer.WriteStartObject();
            writer.WriteString("role", isUser ? "user" : "assistant");
            writer.WriteStartArray("content");
            if (isUser)
            {
                // NOTE: Anthropic wants tool_result blocks before any other block of the turn
                // ("tool_result blocks must come FIRST in the content array"), so they are written in a first pass.
                WriteRun(messages, start, end, toolResults: true, writer);
                WriteRun(messages, start, end, toolResults: false, writer);
            }
            else
            {
                WriteRun(messages, start, end, toolResults: null, writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            start = end;
        }

        writer.WriteEndArray();
    }

    /// <param name="toolResults">true: only tool results; false: everything else; null: everything.</param>
    private static void WriteRun(IReadOnlyList<ChatMessage> messages, int start, int end, bool? toolResults, Utf8JsonWriter writer)
    {
        for (var i = start; i < end; i++)
        {
            foreach (var part in messages[i].Content)
            {
                if (toolResults is null || toolResults == part is ToolResultPart)
                {
                    WritePart(part, writer);
                }
            }
        }
    }

    private static void WritePart(ContentPart part, Utf8JsonWriter writer)
    {
        switch (part)
        {
            case TextPart { Text.Length: > 0 } text:
                AnthropicContentWriter.WriteText(writer, text);
                break;
            case ImagePart image when image.Data is not null || image.Url is not null:
                AnthropicContentWriter.WriteImage(writer, image);
                break;
            case ToolCallPart call:
                AnthropicContentWriter.WriteToolUse(writer, call, response: false);
                break;
            case ToolResultPart result:
                WriteToolResult(result, writer);
                break;
            case ThinkingPart { Signature.Length: > 0 } thinking:
                // Anthropic verifies the signature of every thinking block sent back; one without cannot be replayed.
                AnthropicContentWriter.WriteThinking(writer, thinking);
                break;
        }
    }

    private static bool IsWritable(ContentPart part) => part switch
    {
        TextPart text => text.Text.Length > 0,
        ImagePart image => image.Data is not null || image.Url is not null,
        ToolCallPart or ToolResultPart => true,
        ThinkingPart thinking => !string.IsNullOrEmpty(thinking.Signature),
        _ => false,
    };

    private static bool HasWritableContent(ChatMessage message)
    {
        foreach (var part in message.Content)
        {
            if (IsWritable(part))
            {
                return true;
            }
        }

        return false;
    }

    private static void WriteToolResult(ToolResultPart result, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "tool_result");
        writer.WriteString("tool_use_id", AnthropicWire.ToolUseId(result.ToolCallId));
        var hasContent = false;
        foreach (var part in result.Content)
        {
            hasContent |= part is TextPart or ImagePart && IsWritable(part);
        }

        if (hasContent)
        {
            writer.WriteStartArray("content");
            foreach (var part in result.Content)
            {
                if (part is TextPart or ImagePart)
                {
                    WritePart(part, writer);
                }
            }

            writer.WriteEndArray();
        }

        if (result.IsError)
        {
            writer.WriteBoolean("is_error", true);
        }

        AnthropicContentWriter.WriteCacheControl(writer, result.CacheControl);
        writer.WriteEndObject();
    }

    private static void WriteTools(ChatRequest request, Utf8JsonWriter writer)
    {
        // NOTE: Anthropic rejects tool_choice without tools, so both are written only when there are tools.
        if (request.Tools.Count == 0)
        {
            return;
        }

        writer.WriteStartArray("tools");
        foreach (var tool in request.Tools)
        {
            writer.WriteStartObject();
            writer.WriteString("name", tool.Name);
            if (tool.Description is not null)
            {
                writer.WriteString("description", tool.Description);
            }

            writer.WritePropertyName("input_schema");
            if (tool.Parameters.ContainsKey("type"))
            {
                tool.Parameters.WriteTo(writer);
            }
            else
            {
                // OpenAI allows a function without parameters ({}); Anthropic requires an object schema.
                writer.WriteStartObject();
                writer.WriteString("type", "object");
                foreach (var (name, value) in tool.Parameters)
                {
                    writer.WritePropertyName(name);
                    if (value is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        value.WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
            }

            AnthropicContentWriter.WriteCacheControl(writer, tool.CacheControl);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();

        var choice = request.ToolChoice;
        var disableParallel = request.ParallelToolCalls == false && choice?.Kind != ToolChoiceKind.None;
        if (choice is null && !disableParallel)
        {
            return;
        }

        writer.WriteStartObject("tool_choice");
        switch (choice?.Kind ?? ToolChoiceKind.Auto)
        {
            case ToolChoiceKind.None:
                writer.WriteString("type", "none");
                break;
            case ToolChoiceKind.Required:
                writer.WriteString("type", "any");
                break;
            case ToolChoiceKind.Tool when choice?.Name is not null:
                writer.WriteString("type", "tool");
                writer.WriteString("name", choice.Name);
                break;
            case ToolChoiceKind.Tool:
                // A forced tool without a name cannot be expressed; "some tool" is the closest.
                writer.WriteString("type", "any");
                break;
            default:
                writer.WriteString("type", "auto");
                break;
        }

        if (disableParallel)
        {
            writer.WriteBoolean("disable_parallel_tool_use", true);
        }

        writer.WriteEndObject();
    }
}
