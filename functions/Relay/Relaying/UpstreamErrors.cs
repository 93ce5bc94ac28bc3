using System.Text.Json;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>Maps an upstream refusal to the relay's error, so each client sees it in its own format.</summary>
internal static class UpstreamErrors
{
    public static RelayError FromStatus(int status, ReadOnlySpan<byte> body, IChatFormat upstreamFormat, UpstreamAccount account, TimeSpan? retryAfter)
    {
        // NOTE: a 401/403 from the upstream means the relay's account was refused, not the client's key; its message
        // can quote part of the account's key, so it is not passed on.
        if (status is 401 or 403)
        {
            return new RelayError(ErrorKind.Upstream, $"The upstream account '{account.Name}' was refused by {account.Provider.WireName()} ({status}).");
        }

        var message = ReadMessage(body, upstreamFormat) ?? $"HTTP {status}";
        var kind = status switch
        {
            400 or 422 => ErrorKind.InvalidRequest,
            404 => ErrorKind.NotFound,
            413 => ErrorKind.RequestTooLarge,
            429 => ErrorKind.RateLimited,
            408 or 504 => ErrorKind.Timeout,
            503 or 529 => ErrorKind.Overloaded,
            _ => ErrorKind.Upstream,
        };
        return new RelayError(kind, $"Upstream error from {account.Provider.WireName()}: {message}") { RetryAfter = retryAfter };
    }

    private static string? ReadMessage(ReadOnlySpan<byte> body, IChatFormat format)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            return format.ReadErrorMessage(document.RootElement);
        }
        catch (JsonException)
        {
            return body.Length is > 0 and < 300 ? System.Text.Encoding.UTF8.GetString(body) : null;
        }
    }
}
