using System.Text.Json;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>
/// Anthropic's error shape, <c>{"type":"error","error":{"type","message"}}</c>, and its status codes.
/// See https://docs.claude.com/en/api/errors.
/// </summary>
internal static class AnthropicErrors
{
    public static int StatusCodeOf(RelayError error) =>
        error is { UpstreamStatus: null, Kind: ErrorKind.Overloaded } ? 529 : error.StatusCode;

    public static string TypeOf(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidRequest => "invalid_request_error",
        ErrorKind.Authentication => "authentication_error",
        ErrorKind.PermissionDenied => "permission_error",
        ErrorKind.NotFound => "not_found_error",
        ErrorKind.RequestTooLarge => "request_too_large",
        ErrorKind.RateLimited => "rate_limit_error",
        ErrorKind.Overloaded => "overloaded_error",
        ErrorKind.Timeout => "timeout_error",
        _ => "api_error",
    };

    /// <summary>The kind of an upstream error by its <c>error.type</c>; used for errors that arrive inside a stream.</summary>
    public static ErrorKind KindOf(string? errorType) => errorType switch
    {
        "overloaded_error" => ErrorKind.Overloaded,
        "rate_limit_error" => ErrorKind.RateLimited,
        _ => ErrorKind.Upstream,
    };

    public static void Write(RelayError error, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "error");
        writer.WriteStartObject("error");
        writer.WriteString("type", TypeOf(error.Kind));
        writer.WriteString("message", error.Message);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Reads <c>error.message</c> from an Anthropic error body, or null when the body has another shape.</summary>
    public static string? ReadMessage(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object
        && body.TryGetProperty("error", out var error)
        && error.ValueKind == JsonValueKind.Object
        && error.TryGetProperty("message", out var message)
        && message.ValueKind == JsonValueKind.String
            ? message.GetString()
            : null;
}
