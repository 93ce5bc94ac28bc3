using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Relaying;

/// <summary>Writes JSON answers and errors straight into the response body, in the client's format.</summary>
internal static class RelayResults
{
    public static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(response.BodyWriter, SseWriter.JsonWriterOptions))
        {
            write(writer);
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    public static Task WriteErrorAsync(HttpContext context, IChatFormat format, RelayError error)
    {
        if (error.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds(retryAfter);
        }

        return WriteJsonAsync(context, format.StatusCodeOf(error), writer => format.WriteError(error, writer));
    }

    /// <summary>
    /// The one place a relay outcome becomes the client's error response: the upstream's own error as it came when it
    /// spoke the client's format, else the relay's error in the client's shape. Nothing is written once the answer has
    /// started (its error went inside the stream) or when the client is gone.
    /// </summary>
    public static async Task WriteFailureAsync(HttpContext context, IChatFormat format, RelayOutcome outcome)
    {
        if (outcome.IsSuccess || outcome.ResponseStarted || outcome.Kind == RelayOutcomeKind.ClientClosed)
        {
            return;
        }

        if (outcome.Relayed is { } relayed)
        {
            var response = context.Response;
            response.StatusCode = outcome.Status;
            response.ContentType = relayed.ContentType ?? "application/json";
            if (relayed.RetryAfter is { } wait)
            {
                response.Headers.RetryAfter = RetryAfterSeconds(wait);
            }

            await response.Body.WriteAsync(relayed.Body, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        await WriteErrorAsync(context, format, outcome.Error ?? RelayOutcome.InternalError).ConfigureAwait(false);
    }

    private static string RetryAfterSeconds(TimeSpan wait) =>
        Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
