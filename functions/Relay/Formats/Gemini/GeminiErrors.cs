using System.Globalization;
using System.Text.Json;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>
/// Google's error shape, <c>{"error":{"code","message","status"}}</c>, where <c>status</c> is the
/// <c>google.rpc.Code</c> name that goes with the HTTP status (https://ai.google.dev/gemini-api/docs/troubleshooting).
/// </summary>
internal static class GeminiErrors
{
    public static int StatusCodeOf(RelayError error) => error.StatusCode;

    /// <summary>The <c>google.rpc.Code</c> name for an HTTP status, so code and status never disagree.</summary>
    public static string StatusNameOf(int statusCode) => statusCode switch
    {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        >= 400 and < 500 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    };

    public static void Write(RelayError error, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        WriteErrorProperty(error, writer);
        writer.WriteEndObject();
    }

    /// <summary>Writes the <c>"error": {...}</c> property alone (stream error chunks embed it).</summary>
    /// <remarks>
    /// A wait (<see cref="RelayError.RetryAfter"/>) goes in <c>details</c> as a <c>google.rpc.RetryInfo</c>, its
    /// <c>retryDelay</c> a Duration in JSON (<c>"30s"</c>): Google's clients read the delay there (Gemini CLI's
    /// googleQuotaErrors.ts), not in the Retry-After header. Whole seconds, rounded up as that header's are.
    /// </remarks>
    public static void WriteErrorProperty(RelayError error, Utf8JsonWriter writer)
    {
        var code = StatusCodeOf(error);
        writer.WriteStartObject("error");
        writer.WriteNumber("code", code);
        writer.WriteString("message", error.Message);
        writer.WriteString("status", StatusNameOf(code));
        if (error.RetryAfter is { } wait)
        {
            writer.WriteStartArray("details");
            writer.WriteStartObject();
            writer.WriteString("@type", "type.googleapis.com/google.rpc.RetryInfo");
            writer.WriteString("retryDelay", Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s");
            writer.WriteEndObject();
            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    public static string? ReadMessage(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object
        && body.TryGetProperty("error", out var error)
        && error.ValueKind == JsonValueKind.Object
            ? JsonFields.GetString(error, "message")
            : null;

    /// <summary>
    /// Whether an upstream error body says that the account's API key itself was refused. Google answers an invalid,
    /// expired or deleted key with 400 <c>INVALID_ARGUMENT</c>, not 401, and tells it from a bad request only by a
    /// <c>google.rpc.ErrorInfo</c> detail: <c>{"reason":"API_KEY_INVALID","domain":"googleapis.com"}</c>
    /// (https://cloud.google.com/apis/design/errors#error_info). Its OpenAI-compatible endpoint sends the same error
    /// wrapped in an array.
    /// </summary>
    /// <remarks>
    /// NOTE: the reason is read from its field, never searched for in the text: a 400's message can quote the request
    /// (an invalid value), and a client must not be able to disable the relay's accounts by writing the reason into it.
    /// </remarks>
    public static bool IsApiKeyInvalid(ReadOnlySpan<byte> body)
    {
        // Nearly every 400 is the request's own: no parse unless the reason can be there at all.
        if (body.IndexOf("API_KEY_INVALID"u8) < 0)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0)
            {
                root = root[0];
            }

            if (!JsonFields.TryGetPresent(root, "error", out var error) || !JsonFields.TryGetPresent(error, "details", out var details) || details.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            foreach (var detail in details.EnumerateArray())
            {
                if (JsonFields.TryGetString(detail, "reason"u8, out var reason) && reason.ValueEquals("API_KEY_INVALID"u8)
                    && JsonFields.TryGetString(detail, "domain"u8, out var domain) && domain.ValueEquals("googleapis.com"u8))
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON, or cut at the relay's error-body bound: not Google's refusal of a key.
        }

        return false;
    }

    /// <summary>Turns an upstream <c>{"error":{...}}</c> (e.g. inside a stream) into a relay error.</summary>
    public static RelayError FromUpstream(JsonElement error)
    {
        var message = error.ValueKind == JsonValueKind.Object ? JsonFields.GetString(error, "message") : null;
        var status = error.ValueKind == JsonValueKind.Object ? JsonFields.GetString(error, "status") : null;
        var kind = status switch
        {
            "INVALID_ARGUMENT" or "FAILED_PRECONDITION" or "OUT_OF_RANGE" => ErrorKind.InvalidRequest,
            "UNAUTHENTICATED" => ErrorKind.Authentication,
            "PERMISSION_DENIED" => ErrorKind.PermissionDenied,
            "NOT_FOUND" => ErrorKind.NotFound,
            "RESOURCE_EXHAUSTED" => ErrorKind.RateLimited,
            "UNAVAILABLE" => ErrorKind.Overloaded,
            "DEADLINE_EXCEEDED" => ErrorKind.Timeout,
            _ => ErrorKind.Upstream,
        };
        return new RelayError(kind, message ?? "Gemini returned an error without a message.");
    }
}
