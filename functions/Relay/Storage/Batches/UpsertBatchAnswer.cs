using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure;

namespace Serverless.Relay.Storage.Batches;

/// <summary>
/// A row the service refused inside an entity-group transaction, which fails the whole transaction (nothing of it was
/// written). <see cref="FailedIndex"/> is the refused row's place in the batch when the service names it.
/// </summary>
internal sealed class TableBatchRejectedException(int status, string message, string? errorCode, int? failedIndex)
    : RequestFailedException(status, message, errorCode, null)
{
    public int? FailedIndex { get; } = failedIndex;
}

/// <summary>
/// Reads the <c>202 Accepted</c> answer of a <c>$batch</c>: the changeset's responses are all 2xx when it was
/// committed; when it was not, the service answers with the one failed operation, whose OData error message starts
/// with that operation's index (<c>"3:One of the request inputs is not valid…"</c>).
/// </summary>
internal static class UpsertBatchAnswer
{
    /// <summary>Returns when every operation succeeded; else throws <see cref="TableBatchRejectedException"/>.</summary>
    /// <remarks>NOTE: read as bytes: the answer of a full batch is tens of KB, and only its status lines matter.</remarks>
    public static void EnsureCommitted(ReadOnlySpan<byte> body)
    {
        var statusLine = "HTTP/1.1 "u8;
        var operations = 0;
        var at = 0;
        while (body[at..].IndexOf(statusLine) is var found and >= 0)
        {
            var codeStart = at + found + statusLine.Length;
            at = codeStart;
            if (codeStart + 3 > body.Length || !Utf8Parser.TryParse(body.Slice(codeStart, 3), out int status, out var consumed) || consumed != 3)
            {
                continue;
            }

            operations++;
            if (status is < 200 or >= 300)
            {
                throw Rejected(status, Encoding.UTF8.GetString(body[codeStart..]));
            }
        }

        if (operations == 0)
        {
            // NOTE: not status 0 (a network failure, retried until storage answers): an answer that cannot be read would
            // be retried forever and hold every row behind it.
            throw new RequestFailedException(202, "The table service's batch answer holds no operation response.");
        }
    }

    /// <param name="body">The answer from the refused operation's status code on.</param>
    private static TableBatchRejectedException Rejected(int status, string body)
    {
        // The operation's body follows its headers (a blank line) and runs to the next boundary line.
        var start = body.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var end = start < 0 ? -1 : body.IndexOf("\r\n--", start + 4, StringComparison.Ordinal);
        var json = start < 0 ? "" : body[(start + 4)..(end < 0 ? body.Length : end)];
        string? code = null;
        var message = $"The table service refused the batch ({status}).";
        int? index = null;
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.TryGetProperty("odata.error", out var error))
            {
                code = error.TryGetProperty("code", out var c) ? c.GetString() : null;
                if (error.TryGetProperty("message", out var m) && m.TryGetProperty("value", out var v) && v.GetString() is { } text)
                {
                    message = text;
                    var colon = text.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0 && int.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var i))
                    {
                        index = i;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not the OData error shape: the status alone says what happened.
        }

        return new TableBatchRejectedException(status, message, code, index);
    }
}
