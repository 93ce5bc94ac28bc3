using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>Reads an upstream <c>chat.completion</c> object.</summary>
internal static class OpenAIChatResponseReader
{
    public static Result<ChatResponse> Read(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Unusable("must be a JSON object");
        }

        if (JsonFields.CheckAnswerText(body) is { } textError)
        {
            return textError;
        }

        if (OpenAIChatWire.ReadErrorMessage(body) is { } errorMessage)
        {
            return new RelayError(ErrorKind.Upstream, errorMessage);
        }

        if (!body.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
        {
            return Unusable("choices: field required");
        }

        // n > 1 is not part of the canonical model: the first choice is the answer.
        JsonElement choice = default;
        foreach (var candidate in choices.EnumerateArray())
        {
            choice = candidate;
            break;
        }

        if (choice.ValueKind != JsonValueKind.Object)
        {
            return Unusable("choices: must contain at least one choice");
        }

        if (!choice.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
        {
            return Unusable("choices[0].message: field required");
        }

        var content = new List<ContentPart>();

        // DeepSeek, vLLM and others send reasoning as reasoning_content, OpenRouter as reasoning; it came first.
        if ((JsonFields.GetString(message, "reasoning_content") ?? JsonFields.GetString(message, "reasoning")) is { Length: > 0 } reasoning)
        {
            content.Add(new ThinkingPart(reasoning));
        }

        if (message.TryGetProperty("content", out var text))
        {
            if (text.ValueKind == JsonValueKind.String)
            {
                if (text.GetString() is { Length: > 0 } value)
                {
                    content.Add(new TextPart(value));
                }
            }
            else if (text.ValueKind == JsonValueKind.Array)
            {
                // Not OpenAI's shape, but some compatible servers answer with parts.
                foreach (var part in text.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && JsonFields.GetString(part, "text") is { } partText)
                    {
                        content.Add(new TextPart(partText));
                    }
                }
            }
        }

        if (JsonFields.GetString(message, "refusal") is { Length: > 0 } refusal)
        {
            content.Add(new TextPart(refusal));
        }

        if (message.TryGetProperty("tool_calls", out var toolCalls) && toolCalls.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var toolCall in toolCalls.EnumerateArray())
            {
                if (ReadToolCall(toolCall, index++) is not { } part)
                {
                    return Unusable($"choices[0].message.tool_calls[{index - 1}]: must have function.name");
                }

                content.Add(part);
            }
        }

        var usage = body.TryGetProperty("usage", out var usageElement) ? ReadUsage(usageElement) : Usage.Empty;

        return new ChatResponse
        {
            Id = JsonFields.GetString(body, "id") ?? string.Empty,
            Model = JsonFields.GetString(body, "model") ?? string.Empty,
            Content = content,
            StopReason = OpenAIChatWire.ReadFinishReason(JsonFields.GetString(choice, "finish_reason"), content.Exists(part => part is ToolCallPart)),
            Usage = usage,
            Created = JsonFields.GetInt64(body, "created") ?? 0,
        };
    }

    /// <summary>
    /// The usage and finish reason of an answer relayed as it came, found by a scan of its JSON tokens: the message is
    /// never parsed into a document nor made a string. Null when the body is no answer (not a JSON object, an error, no
    /// choice); the same usage and stop reason as <see cref="Read"/> otherwise.
    /// </summary>
    public static AnswerMetering? Meter(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        var usage = Usage.Empty;
        StopReason? stopReason = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    using var usageDocument = JsonDocument.ParseValue(ref reader);
                    usage = ReadUsage(usageDocument.RootElement);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Null)
                    {
                        return null;
                    }
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray || ReadFirstFinishReason(ref reader) is not { } first)
                    {
                        return null;
                    }

                    stopReason = first;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // NOTE: the id is not read: only a stored Responses answer is continued by it, and it would be a string per answer.
            return stopReason is { } stop ? new AnswerMetering(UsageReport.From(usage), stop) : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON, or a finish reason that is not readable text.
            return null;
        }
    }

    /// <summary>From the start of <c>choices</c> to its end: the first choice's stop reason, or null when there is no choice object.</summary>
    private static StopReason? ReadFirstFinishReason(ref Utf8JsonReader reader)
    {
        StopReason? first = null;
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (index++ > 0 || reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            string? finishReason = null;
            var hasToolCalls = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isFinishReason = reader.ValueTextEquals("finish_reason"u8);
                var isMessage = reader.ValueTextEquals("message"u8);
                reader.Read();
                if (isFinishReason && reader.TokenType == JsonTokenType.String)
                {
                    finishReason = reader.GetString();
                }
                else if (isMessage && reader.TokenType == JsonTokenType.StartObject)
                {
                    hasToolCalls = ReadHasToolCalls(ref reader);
                    continue;
                }

                reader.Skip();
            }

            first = OpenAIChatWire.ReadFinishReason(finishReason, hasToolCalls);
        }

        return first;
    }

    /// <summary>From the start of a choice's <c>message</c> to its end: whether it holds a tool call.</summary>
    private static bool ReadHasToolCalls(ref Utf8JsonReader reader)
    {
        var hasToolCalls = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isToolCalls = reader.ValueTextEquals("tool_calls"u8);
            reader.Read();
            if (isToolCalls && reader.TokenType == JsonTokenType.StartArray)
            {
                hasToolCalls = reader.Read() && reader.TokenType != JsonTokenType.EndArray;
                if (hasToolCalls)
                {
                    reader.Skip();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        reader.Skip();
                    }
                }

                continue;
            }

            reader.Skip();
        }

        return hasToolCalls;
    }

    /// <summary><c>usage</c> as the canonical total; empty when it is not an object.</summary>
    private static Usage ReadUsage(JsonElement usageElement)
    {
        if (usageElement.ValueKind != JsonValueKind.Object)
        {
            return Usage.Empty;
        }

        var accumulator = new UsageAccumulator();
        accumulator.Add(OpenAIChatWire.ReadUsage(usageElement));
        return accumulator.Current;
    }

    private static ToolCallPart? ReadToolCall(JsonElement toolCall, int index)
    {
        if (toolCall.ValueKind != JsonValueKind.Object
            || !toolCall.TryGetProperty("function", out var function)
            || function.ValueKind != JsonValueKind.Object
            || JsonFields.GetString(function, "name") is not { } name)
        {
            return null;
        }

        var arguments = "{}";
        if (function.TryGetProperty("arguments", out var argumentsElement))
        {
            if (argumentsElement.ValueKind == JsonValueKind.String && argumentsElement.GetString() is { Length: > 0 } text)
            {
                arguments = text;
            }
            else if (argumentsElement.ValueKind == JsonValueKind.Object)
            {
                arguments = argumentsElement.GetRawText();
            }
        }

        // Some compatible servers (older Ollama) leave the id out; the next turn still has to reference the call.
        var id = JsonFields.GetString(toolCall, "id") is { Length: > 0 } given ? given : $"call_{index}";
        return new ToolCallPart(id, name, arguments);
    }

    private static RelayError Unusable(string detail) => new(ErrorKind.Upstream, "upstream chat.completion: " + detail);
}
