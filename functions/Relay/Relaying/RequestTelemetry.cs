using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Relaying;

/// <summary>The relay's values in the GenAI conventions' words (operation, finish reason, error type): fixed names only.</summary>
internal static class RequestTelemetry
{
    /// <summary>Gemini's API is <c>generate_content</c> in the conventions; the others are chats.</summary>
    public static string OperationOf(ClientApi api) => api.Format.Format == WireFormat.Gemini ? "generate_content" : "chat";

    /// <summary>OpenAI's finish reasons, which the conventions' examples use.</summary>
    public static string FinishReasonOf(StopReason reason) => reason switch
    {
        StopReason.EndTurn or StopReason.StopSequence => "stop",
        StopReason.MaxTokens => "length",
        StopReason.ToolUse => "tool_calls",
        StopReason.ContentFilter => "content_filter",
        _ => "other",
    };

    /// <summary>
    /// Null on success; else the upstream's status when its own error was relayed, or the relay's error kind
    /// (<c>rate_limited</c>, <c>timeout</c>…): a short fixed set, never an error message (which may quote the request).
    /// </summary>
    public static string? ErrorTypeOf(RelayOutcome outcome) => outcome.Kind switch
    {
        RelayOutcomeKind.Answered => null,
        RelayOutcomeKind.ClientClosed => "client_closed",
        _ when outcome.Error is { } error => KindName(error.Kind),
        _ => outcome.Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string KindName(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidRequest => "invalid_request",
        ErrorKind.Authentication => "authentication",
        ErrorKind.PermissionDenied => "permission_denied",
        ErrorKind.NotFound => "not_found",
        ErrorKind.RequestTooLarge => "request_too_large",
        ErrorKind.RateLimited => "rate_limited",
        ErrorKind.Upstream => "upstream",
        ErrorKind.Overloaded => "overloaded",
        ErrorKind.Unavailable => "unavailable",
        ErrorKind.Timeout => "timeout",
        _ => "internal",
    };
}
