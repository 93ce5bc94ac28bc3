using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>
/// Pieces of the Responses wire shape shared by the response writer and the stream encoder, so a streamed answer's
/// final <c>response.completed</c> object is byte-for-byte what the non-streamed answer would have been.
/// </summary>
/// <remarks>Shape: https://platform.openai.com/docs/api-reference/responses/object</remarks>
internal static class ResponsesWire
{
    public const string ResponsePrefix = "resp_";

    /// <summary>
    /// Responses ids start with <c>resp_</c>; an id from another upstream (<c>msg_…</c>, <c>chatcmpl-…</c>) gets the
    /// prefix so clients that key on it (and our own item ids) stay consistent. An upstream that gave none (a
    /// compatible server's stream without ids) gets a fresh one: a bare <c>resp_</c> would be the same for every answer,
    /// and so would the item ids made from it.
    /// </summary>
    public static string ResponseId(string canonicalId) =>
        canonicalId.Length == 0 ? ResponsePrefix + Guid.NewGuid().ToString("N")
        : canonicalId.StartsWith(ResponsePrefix, StringComparison.Ordinal) ? canonicalId
        : ResponsePrefix + canonicalId;

    /// <summary>
    /// Item ids are derived from the response id and the output index, so they are unique within the answer, stable
    /// between the streamed events and the final object, and deterministic for tests.
    /// </summary>
    public static string ItemId(string prefix, string responseId, int outputIndex) =>
        string.Concat(prefix, responseId.AsSpan(ResponsePrefix.Length), "_", outputIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static string StatusOf(StopReason reason) =>
        reason is StopReason.MaxTokens or StopReason.ContentFilter ? "incomplete" : "completed";

    /// <summary>
    /// A done output item's status: the model stopped inside the last item of an answer cut short, which is then as
    /// incomplete as the answer; every earlier item was completed.
    /// </summary>
    public static string ItemStatusOf(StopReason reason, bool last) => last ? StatusOf(reason) : "completed";

    /// <summary>The <c>incomplete_details.reason</c> for an incomplete answer, else null.</summary>
    public static string? IncompleteReasonOf(StopReason reason) => reason switch
    {
        StopReason.MaxTokens => "max_output_tokens",
        StopReason.ContentFilter => "content_filter",
        _ => null,
    };

    /// <summary>Writes the response object's fields up to and including the <c>"output"</c> property name; the caller writes the array.</summary>
    public static void WriteResponseHead(Utf8JsonWriter writer, in ResponseHead head)
    {
        writer.WriteStartObject();
        writer.WriteString("id", head.Id);
        writer.WriteString("object", "response");
        writer.WriteNumber("created_at", head.CreatedAt);
        writer.WriteString("status", head.Status);
        writer.WriteBoolean("background", false);
        if (head.Error is { } error)
        {
            writer.WriteStartObject("error");
            writer.WriteString("code", error.Code);
            writer.WriteString("message", error.Message);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("error");
        }

        if (head.IncompleteReason is null)
        {
            writer.WriteNull("incomplete_details");
        }
        else
        {
            writer.WriteStartObject("incomplete_details");
            writer.WriteString("reason", head.IncompleteReason);
            writer.WriteEndObject();
        }

        JsonFields.WriteStringOrNull(writer, "instructions", head.Echo.Instructions);
        JsonFields.WriteNumberOrNull(writer, "max_output_tokens", head.Echo.MaxOutputTokens);
        writer.WriteString("model", head.Model);
        writer.WritePropertyName("output");
    }

    /// <summary>Writes the fields after <c>output</c> and closes the object. <paramref name="usage"/> null writes <c>"usage": null</c> (in-progress objects).</summary>
    public static void WriteResponseTail(Utf8JsonWriter writer, in ResponseHead head, Usage? usage)
    {
        var echo = head.Echo;
        writer.WriteBoolean("parallel_tool_calls", echo.ParallelToolCalls ?? true);
        // An answer written here is a translation, which never continues a stored response: the relay sends a request
        // with previous_response_id only to an upstream that speaks Responses itself (RelayForwarder).
        writer.WriteNull("previous_response_id");
        // The reasoning the client asked for, as OpenAI echoes its request (null: the model's default).
        writer.WriteStartObject("reasoning");
        JsonFields.WriteStringOrNull(writer, "effort", echo.Reasoning?.Effort is { } effort ? OpenAIReasoning.Name(effort) : null);
        JsonFields.WriteStringOrNull(writer, "summary", echo.Reasoning?.IncludeThoughts == true ? OpenAIReasoning.AutoSummary : null);
        writer.WriteEndObject();
        writer.WriteBoolean("store", false);
        JsonFields.WriteNumberOrNull(writer, "temperature", echo.Temperature);
        writer.WriteStartObject("text");
        OpenAIOutputFormat.Write(writer, "format", echo.OutputFormat ?? OutputFormat.Text, schemaField: null);
        writer.WriteEndObject();
        WriteToolChoice(writer, echo.ToolChoice ?? new ToolChoice(ToolChoiceKind.Auto));
        writer.WriteStartArray("tools");
        foreach (var tool in echo.Tools)
        {
            WriteFunctionTool(writer, tool);
        }

        writer.WriteEndArray();
        JsonFields.WriteNumberOrNull(writer, "top_p", echo.TopP);
        writer.WriteString("truncation", "disabled");
        if (usage is null)
        {
            writer.WriteNull("usage");
        }
        else
        {
            WriteUsage(writer, usage);
        }

        JsonFields.WriteStringOrNull(writer, "user", echo.User);
        writer.WriteStartObject("metadata");
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Usage the OpenAI way: <c>input_tokens</c> includes cached tokens (see <see cref="Usage"/>).</summary>
    public static void WriteUsage(Utf8JsonWriter writer, Usage usage)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("input_tokens", usage.TotalInputTokens);
        writer.WriteStartObject("input_tokens_details");
        writer.WriteNumber("cached_tokens", usage.CacheReadTokens);
        if (usage.CacheWriteTokens > 0)
        {
            // Not in OpenAI's own answers (it bills no cache writes), but in its schema and SDKs: keeps Anthropic's count.
            writer.WriteNumber("cache_write_tokens", usage.CacheWriteTokens);
        }

        writer.WriteEndObject();
        writer.WriteNumber("output_tokens", usage.OutputTokens);
        writer.WriteStartObject("output_tokens_details");
        writer.WriteNumber("reasoning_tokens", usage.ReasoningTokens);
        writer.WriteEndObject();
        writer.WriteNumber("total_tokens", usage.TotalTokens);
        writer.WriteEndObject();
    }

    /// <param name="names">The upstream's rule for tool names, when the choice goes to one; null for a client's echo.</param>
    public static void WriteToolChoice(Utf8JsonWriter writer, ToolChoice choice, UpstreamToolNames? names = null)
    {
        switch (choice.Kind)
        {
            case ToolChoiceKind.None:
                writer.WriteString("tool_choice", "none");
                break;
            case ToolChoiceKind.Required:
                writer.WriteString("tool_choice", "required");
                break;
            case ToolChoiceKind.Tool:
                writer.WriteStartObject("tool_choice");
                writer.WriteString("type", "function");
                writer.WriteString("name", choice.Name is { } name && names is not null ? names.Of(name) : choice.Name);
                writer.WriteEndObject();
                break;
            default:
                writer.WriteString("tool_choice", "auto");
                break;
        }
    }

    /// <param name="names">The upstream's rule for tool names, when the tool goes to one; null for a client's echo.</param>
    public static void WriteFunctionTool(Utf8JsonWriter writer, ToolDefinition tool, UpstreamToolNames? names = null)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "function");
        writer.WriteString("name", names is null ? tool.Name : names.Of(tool.Name));
        if (tool.Description is not null)
        {
            writer.WriteString("description", tool.Description);
        }

        writer.WritePropertyName("parameters");
        tool.Parameters.WriteTo(writer);

        // NOTE: Responses function tools default to strict mode, which rejects any schema that is not closed
        // (additionalProperties: false, every property required); schemas from other formats rarely are, so only a
        // client that asked for it (Chat's function.strict) gets it.
        writer.WriteBoolean("strict", tool.Strict ?? false);
        writer.WriteEndObject();
    }

    public static void WriteMessageItemStart(Utf8JsonWriter writer, string id, string status)
    {
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("type", "message");
        writer.WriteString("status", status);
        writer.WriteString("role", "assistant");
        writer.WriteStartArray("content");
    }

    public static void WriteMessageItemEnd(Utf8JsonWriter writer)
    {
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WriteOutputText(Utf8JsonWriter writer, string text)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "output_text");
        writer.WriteString("text", text);
        writer.WriteStartArray("annotations");
        writer.WriteEndArray();
        writer.WriteStartArray("logprobs");
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <param name="namespace">The <c>namespace</c> tool the called function was declared in, if any.</param>
    public static void WriteFunctionCallItem(Utf8JsonWriter writer, string id, string callId, string name, string arguments, string status, string? @namespace = null)
    {
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("type", "function_call");
        writer.WriteString("status", status);
        writer.WriteString("arguments", arguments);
        writer.WriteString("call_id", callId);
        writer.WriteString("name", name);
        JsonFields.WriteStringIfPresent(writer, "namespace", @namespace);
        writer.WriteEndObject();
    }

    /// <summary>A call to a custom tool (<see cref="ToolDefinition.IsCustom"/>): its free text is <paramref name="input"/>.</summary>
    public static void WriteCustomToolCallItem(Utf8JsonWriter writer, string id, string callId, string name, string input, string status, string? @namespace = null)
    {
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("type", "custom_tool_call");
        writer.WriteString("status", status);
        writer.WriteString("call_id", callId);
        writer.WriteString("name", name);
        writer.WriteString("input", input);
        JsonFields.WriteStringIfPresent(writer, "namespace", @namespace);
        writer.WriteEndObject();
    }

    /// <summary>
    /// A reasoning item with at most one summary part. Null or empty writes <c>summary: []</c>: a just-added item, or
    /// reasoning with no text (a Gemini thought signature alone), which the real API never gives an empty part.
    /// </summary>
    /// <param name="encryptedContent">The signature of thinking another provider signed (<see cref="ResponsesSignedReasoning"/>), if any.</param>
    public static void WriteReasoningItem(Utf8JsonWriter writer, string id, string? summary, string? encryptedContent = null)
    {
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("type", "reasoning");
        writer.WriteStartArray("summary");
        if (!string.IsNullOrEmpty(summary))
        {
            WriteSummaryText(writer, summary);
        }

        writer.WriteEndArray();
        JsonFields.WriteStringIfPresent(writer, "encrypted_content", encryptedContent);
        writer.WriteEndObject();
    }

    public static void WriteSummaryText(Utf8JsonWriter writer, string text)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "summary_text");
        writer.WriteString("text", text);
        writer.WriteEndObject();
    }



}

/// <summary>The top-level fields of a response object other than its output and usage.</summary>
/// <param name="Echo">The request settings the answer repeats back, streamed or not.</param>
/// <param name="Error">Why a failed response failed (<c>status: "failed"</c>), else null.</param>
internal readonly record struct ResponseHead(string Id, long CreatedAt, string Status, string? IncompleteReason, string Model, RequestEcho Echo, ResponseFailure? Error = null);

/// <summary>A failed response's <c>error</c>: <c>{code, message}</c>, what Codex reads from <c>response.failed</c>.</summary>
internal sealed record ResponseFailure(string Code, string Message);

/// <summary>The request settings the Responses API echoes in its response object.</summary>
internal sealed record RequestEcho(
    string? Instructions,
    int? MaxOutputTokens,
    bool? ParallelToolCalls,
    double? Temperature,
    double? TopP,
    ToolChoice? ToolChoice,
    IReadOnlyList<ToolDefinition> Tools,
    string? User,
    OutputFormat? OutputFormat = null,
    Reasoning? Reasoning = null)
{
    public static RequestEcho From(ChatRequest request) => new(
        ResponsesRequestWriter.JoinSystem(request.System),
        request.MaxOutputTokens,
        request.ParallelToolCalls,
        request.Temperature,
        request.TopP,
        request.ToolChoice,
        request.Tools,
        request.User,
        request.OutputFormat,
        request.Reasoning);

    /// <summary>The declared tool a call names, for how its call is written back (custom, namespaced); null when none is.</summary>
    public ToolDefinition? ToolNamed(string name)
    {
        foreach (var tool in Tools)
        {
            if (tool.Name == name)
            {
                return tool;
            }
        }

        return null;
    }
}
