using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>Reads an upstream Messages API answer (<c>{"type":"message",...}</c>) into a <see cref="ChatResponse"/>.</summary>
internal static class AnthropicResponseReader
{
    public static Result<ChatResponse> Read(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Unusable("the body is not a JSON object");
        }

        if (JsonFields.CheckAnswerText(body) is { } textError)
        {
            return textError;
        }

        if (!body.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
        {
            return Unusable("content is missing or not an array");
        }

        var parts = new List<ContentPart>(content.GetArrayLength());
        foreach (var block in content.EnumerateArray())
        {
            switch (JsonFields.GetString(block, "type"))
            {
                case "text":
                    parts.Add(new TextPart(JsonFields.GetString(block, "text") ?? string.Empty));
                    break;
                case "tool_use":
                    var input = block.TryGetProperty("input", out var inputElement) && inputElement.ValueKind == JsonValueKind.Object
                        ? inputElement.GetRawText()
                        : "{}";
                    parts.Add(new ToolCallPart(
                        JsonFields.GetString(block, "id") ?? string.Empty,
                        JsonFields.GetString(block, "name") ?? string.Empty,
                        input));
                    break;
                case "thinking":
                    var thinking = JsonFields.GetString(block, "thinking") ?? string.Empty;
                    var signature = JsonFields.GetString(block, "signature");
                    parts.Add(string.IsNullOrEmpty(signature) ? new ThinkingPart(thinking) : new ThinkingPart(thinking, signature, ThinkingSigner.Anthropic));
                    break;

                // redacted_thinking and server-tool blocks have no canonical form.
            }
        }

        return new ChatResponse
        {
            Id = JsonFields.GetString(body, "id") ?? string.Empty,
            Model = JsonFields.GetString(body, "model") ?? string.Empty,
            Content = parts,
            StopReason = AnthropicWire.ReadStopReason(JsonFields.GetString(body, "stop_reason")),
            StopSequence = JsonFields.GetString(body, "stop_sequence"),
            Usage = body.TryGetProperty("usage", out var usage) ? AnthropicWire.ReadUsage(usage) : Usage.Empty,
        };
    }

    private static RelayError Unusable(string reason) =>
        new(ErrorKind.Upstream, $"upstream response is not an Anthropic message: {reason}");
}
