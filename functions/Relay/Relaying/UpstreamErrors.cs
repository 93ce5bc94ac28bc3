using System.Text.Json;
using Serverless.Relay.Accounts;
using Serverless.Relay.Failover;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Maps an upstream refusal to the relay's error, so each client sees it in its own format. The kind comes from
/// <see cref="UpstreamStatus"/>, the same table that marks the account.
/// </summary>
internal static class UpstreamErrors
{
    /// <summary>
    /// What the client is told of an attempt that failed before the first byte: the upstream's own error exactly as it
    /// came when it speaks the client's format (except a refused account), else the relay's error.
    /// </summary>
    public static (RelayError? Error, RelayedError? Relayed) Of(UpstreamAttempt last)
    {
        if (last.Error is { } broken)
        {
            return (broken, null);
        }

        if (last.Passthrough && last.Status is not (401 or 403))
        {
            return (null, new RelayedError(last.Body, last.ContentType, last.RetryAfter));
        }

        return (FromStatus(last.Status, last.Body.Span, last.UpstreamFormat!, last.Candidate.Account, last.RetryAfter), null);
    }

    /// <summary>
    /// The same failure as the relay's own error, for a client whose stream has already started (a heartbeat went
    /// out): an upstream's error body cannot be relayed as it came inside an event stream.
    /// </summary>
    public static RelayError InStream(UpstreamAttempt last) =>
        last.Error ?? FromStatus(last.Status, last.Body.Span, last.UpstreamFormat!, last.Candidate.Account, last.RetryAfter);

    public static RelayError FromStatus(int status, ReadOnlySpan<byte> body, IChatFormat upstreamFormat, UpstreamAccount account, TimeSpan? retryAfter)
    {
        // NOTE: a 401/403 from the upstream means the relay's account was refused, not the client's key; its message
        // can quote part of the account's key, so it is not passed on.
        if (status is 401 or 403)
        {
            return new RelayError(ErrorKind.Upstream, $"The upstream account '{account.Name}' was refused by {account.Provider.WireName()} ({status}).");
        }

        var message = ReadMessage(body, upstreamFormat) ?? $"HTTP {status}";
        var kind = UpstreamStatus.Classify(status, body).Kind;
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
