using System.Globalization;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>Reads an upstream <c>GenerateContentResponse</c> (https://ai.google.dev/api/generate-content#generatecontentresponse).</summary>
internal static class GeminiResponseReader
{
    public static Result<ChatResponse> Read(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return new RelayError(ErrorKind.Upstream, "Gemini response: expected a JSON object.");
        }

        if (JsonFields.CheckAnswerText(body) is { } textError)
        {
            return textError;
        }

        if (body.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            return GeminiErrors.FromUpstream(error);
        }

        var id = GeminiJson.GetString(body, "responseId", "response_id");
        var content = new List<ContentPart>();
        string? finishReason = null;
        var hasToolCalls = false;
        var blocked = false;

        if (FirstCandidate(body) is { } candidate)
        {
            finishReason = GeminiJson.GetString(candidate, "finishReason", "finish_reason");
            if (GeminiJson.TryGet(candidate, "content", out var message) && message.ValueKind == JsonValueKind.Object
                && GeminiJson.TryGet(message, "parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
            {
                var callIds = new CallIds(id);
                foreach (var part in parts.EnumerateArray())
                {
                    hasToolCalls |= ReadPart(part, content, ref callIds);
                }
            }
        }
        else
        {
            // A prompt blocked before generation comes back with promptFeedback and no candidates.
            blocked = GeminiJson.TryGet(body, "promptFeedback", "prompt_feedback", out var feedback)
                && feedback.ValueKind == JsonValueKind.Object
                && GeminiJson.TryGet(feedback, "blockReason", "block_reason", out _);
        }

        var usage = Usage.Empty;
        if (GeminiWire.ReadUsage(body) is { } report)
        {
            var accumulator = new UsageAccumulator();
            accumulator.Add(report);
            usage = accumulator.Current;
        }

        return new ChatResponse
        {
            Id = id ?? CallIds.NewResponseId(),
            Model = GeminiJson.GetString(body, "modelVersion", "model_version") ?? string.Empty,
            Content = content,
            StopReason = blocked ? StopReason.ContentFilter : GeminiWire.ToStopReason(finishReason, hasToolCalls),
            Usage = usage,
            Created = ReadCreated(body),
        };
    }

    public static JsonElement? FirstCandidate(JsonElement body)
    {
        if (GeminiJson.TryGet(body, "candidates", out var candidates) && candidates.ValueKind == JsonValueKind.Array)
        {
            foreach (var candidate in candidates.EnumerateArray())
            {
                if (candidate.ValueKind == JsonValueKind.Object)
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>A thought, with the signature Gemini made when it gave one.</summary>
    private static ThinkingPart Thought(string text, string? signature) => new(text, signature, signature is null ? null : ThinkingSigner.Gemini);

    /// <summary>Appends one response part; returns true for a function call.</summary>
    private static bool ReadPart(JsonElement part, List<ContentPart> content, ref CallIds callIds)
    {
        if (part.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
        {
            content.Add(GeminiJson.IsTrue(part, "thought")
                ? Thought(text.GetString()!, GeminiJson.GetString(part, "thoughtSignature", "thought_signature"))
                : new TextPart(text.GetString()!));
            return false;
        }

        if (GeminiJson.TryGet(part, "functionCall", "function_call", out var call) && call.ValueKind == JsonValueKind.Object)
        {
            if (GeminiJson.GetString(part, "thoughtSignature", "thought_signature") is { } signature)
            {
                content.Add(Thought(string.Empty, signature));
            }

            content.Add(new ToolCallPart(
                callIds.Next(JsonFields.GetString(call, "id")),
                JsonFields.GetString(call, "name") ?? string.Empty,
                GeminiJson.TryGet(call, "args", out var args) && args.ValueKind == JsonValueKind.Object ? args.GetRawText() : "{}"));
            return true;
        }

        if (GeminiWire.ReadMedia(part) is { } media)
        {
            content.Add(media);
        }

        return false;
    }

    // Vertex AI answers carry createTime; the Developer API's do not.
    private static long ReadCreated(JsonElement body) =>
        GeminiJson.GetString(body, "createTime", "create_time") is { } created
        && DateTimeOffset.TryParse(created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time.ToUnixTimeSeconds()
            : 0;
}

/// <summary>
/// Ids for Gemini function calls, which usually come without one: <c>call_&lt;responseId&gt;_&lt;n&gt;</c>, so they are
/// stable for one answer and unique across the turns of a conversation.
/// </summary>
internal struct CallIds(string? responseId)
{
    private readonly string _prefix = "call_" + (responseId ?? Guid.NewGuid().ToString("N")[..16]) + "_";
    private int _count;

    public string Next(string? given) => string.IsNullOrEmpty(given) ? _prefix + (_count++).ToString(CultureInfo.InvariantCulture) : given;

    public static string NewResponseId() => Guid.NewGuid().ToString("N");
}
