using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>Reads an upstream Responses API response object into a <see cref="ChatResponse"/>.</summary>
internal static class ResponsesResponseReader
{
    public static Result<ChatResponse> Read(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Unusable("body: must be a JSON object");
        }

        if (JsonFields.CheckAnswerText(body) is { } textError)
        {
            return textError;
        }

        var status = JsonFields.GetString(body, "status");
        if (status == "failed")
        {
            return Failed(body);
        }

        if (!body.TryGetProperty("output", out var output) || output.ValueKind != JsonValueKind.Array)
        {
            return Unusable("output: field required");
        }

        var content = new List<ContentPart>();
        var hasToolCall = false;
        foreach (var item in output.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            switch (JsonFields.GetString(item, "type"))
            {
                case "message":
                    ReadMessage(item, content);
                    break;
                case "function_call":
                    content.Add(new ToolCallPart(JsonFields.GetString(item, "call_id") ?? string.Empty, JsonFields.GetString(item, "name") ?? string.Empty, JsonFields.GetString(item, "arguments") ?? "{}"));
                    hasToolCall = true;
                    break;
                case "reasoning":
                    if (ReadReasoning(item) is { } thinking)
                    {
                        content.Add(thinking);
                    }

                    break;
            }
        }

        return new ChatResponse
        {
            Id = JsonFields.GetString(body, "id") ?? string.Empty,
            Model = JsonFields.GetString(body, "model") ?? string.Empty,
            Content = content,
            StopReason = StopReasonOf(status, body, hasToolCall),
            Usage = body.TryGetProperty("usage", out var usage) ? ReadUsage(usage) : Usage.Empty,
            Created = body.TryGetProperty("created_at", out var created) && created.ValueKind == JsonValueKind.Number && created.TryGetInt64(out var seconds) ? seconds : 0,
        };
    }

    /// <summary>Status plus incomplete reason to a stop reason; a completed answer with function calls stopped to use them.</summary>
    internal static StopReason StopReasonOf(string? status, JsonElement response, bool hasToolCall)
    {
        if (status == "incomplete")
        {
            var reason = response.TryGetProperty("incomplete_details", out var details) && details.ValueKind == JsonValueKind.Object
                ? JsonFields.GetString(details, "reason")
                : null;
            return reason switch
            {
                "max_output_tokens" => StopReason.MaxTokens,
                "content_filter" => StopReason.ContentFilter,
                _ => StopReason.Other,
            };
        }

        return hasToolCall ? StopReason.ToolUse : StopReason.EndTurn;
    }

    /// <summary>OpenAI counts cached tokens inside <c>input_tokens</c>; canonical usage keeps them apart.</summary>
    internal static Usage ReadUsage(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return Usage.Empty;
        }

        var input = JsonFields.GetInt64(usage, "input_tokens") ?? 0;
        long cached = 0, cacheWrite = 0;
        if (usage.TryGetProperty("input_tokens_details", out var inputDetails) && inputDetails.ValueKind == JsonValueKind.Object)
        {
            cached = JsonFields.GetInt64(inputDetails, "cached_tokens") ?? 0;
            cacheWrite = JsonFields.GetInt64(inputDetails, "cache_write_tokens") ?? 0;
        }

        var reasoning = usage.TryGetProperty("output_tokens_details", out var outputDetails) && outputDetails.ValueKind == JsonValueKind.Object ? (JsonFields.GetInt64(outputDetails, "reasoning_tokens") ?? 0) : 0;
        return new Usage
        {
            InputTokens = Math.Max(0, input - cached - cacheWrite),
            CacheReadTokens = cached,
            CacheWriteTokens = cacheWrite,
            OutputTokens = JsonFields.GetInt64(usage, "output_tokens") ?? 0,
            ReasoningTokens = reasoning,
        };
    }

    /// <summary>The message of a <c>response.failed</c> object's <c>error</c>.</summary>
    internal static RelayError Failed(JsonElement response)
    {
        var message = response.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object ? JsonFields.GetString(error, "message") : null;
        return new RelayError(ErrorKind.Upstream, message ?? "upstream response failed");
    }



    private static void ReadMessage(JsonElement item, List<ContentPart> content)
    {
        if (!item.TryGetProperty("content", out var parts) || parts.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var part in parts.EnumerateArray())
        {
            switch (JsonFields.GetString(part, "type"))
            {
                case "output_text":
                    content.Add(new TextPart(JsonFields.GetString(part, "text") ?? string.Empty));
                    break;
                case "refusal":
                    // Other formats have no refusal part; the refusal is the answer's text.
                    content.Add(new TextPart(JsonFields.GetString(part, "refusal") ?? string.Empty));
                    break;
            }
        }
    }

    /// <summary>
    /// A reasoning item's summaries (or, from open-weight servers, its raw <c>reasoning_text</c> content) as one thinking part.
    /// OpenAI returns reasoning items with an empty summary unless one was requested; those carry nothing readable.
    /// </summary>
    private static ThinkingPart? ReadReasoning(JsonElement item)
    {
        var text = JoinTexts(item, "summary", "summary_text") ?? JoinTexts(item, "content", "reasoning_text");
        return text is null ? null : new ThinkingPart(text);
    }

    private static string? JoinTexts(JsonElement item, string arrayName, string partType)
    {
        if (!item.TryGetProperty(arrayName, out var parts) || parts.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        string? single = null;
        StringBuilder? builder = null;
        foreach (var part in parts.EnumerateArray())
        {
            if (JsonFields.GetString(part, "type") != partType || JsonFields.GetString(part, "text") is not { } text)
            {
                continue;
            }

            if (single is null)
            {
                single = text;
                continue;
            }

            builder ??= new StringBuilder(single);
            builder.Append("\n\n").Append(text);
        }

        return builder?.ToString() ?? single;
    }

    private static RelayError Unusable(string message) => new(ErrorKind.Upstream, $"upstream response: {message}");
}
