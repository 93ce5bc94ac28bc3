using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Buffers;
using Serverless.Relay.Failover;
using Serverless.Relay.OAuth;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>
/// One call to one account, for the <see cref="FailoverExecutor"/>: fresh credentials, the resolved
/// <see cref="UpstreamCall"/>, the send, and the answer read as far as the first byte allows, returned as an
/// <see cref="UpstreamAttempt"/> value whatever happens upstream. Everything here is before the first byte reaches the
/// client, so any failure may be retried on another account; a non-streamed answer is read here for the same reason:
/// whole (up to <see cref="RelayOptions.MaxAnswerBytes"/>), or as far as <see cref="RelayLimits.AnswerHeadBytes"/> for a
/// long same-format one. Its deadline is the executor's attempt timeout (the token it is given), the only one before
/// the first byte.
/// </summary>
internal sealed partial class UpstreamSender(OAuthTokens oauth, UpstreamHttp http, IOptions<FailoverOptions> failoverOptions, IOptions<RelayOptions> relayOptions, TimeProvider time, ILogger<UpstreamSender> logger)
{
    public async ValueTask<UpstreamAttempt> SendAsync(RelayRequest request, UpstreamOperation operation, Candidate candidate, CancellationToken attemptToken, CancellationToken clientAborted)
    {
        // :: Step 1 Credentials: a token near expiry is refreshed first (once per account, across instances); failing that, next account.
        var account = candidate.Account;
        if (account.OAuth is not null)
        {
            var token = await oauth.GetAccessTokenAsync(account, attemptToken).ConfigureAwait(false);
            if (!token.IsSuccess)
            {
                return UpstreamAttempt.Broken(candidate, FailureKind.TokenRefreshFailed, new RelayError(ErrorKind.Upstream, $"The upstream account '{account.Name}' has no valid OAuth token: {token.Error}"));
            }

            account = account with { AccessToken = token.AccessToken };
        }

        // :: Step 2 Resolve the call: provider, upstream format, endpoint, body (passthrough or translated), headers.
        using var call = UpstreamCall.Resolve(request, account, candidate.UpstreamModel, operation)
            ?? throw new InvalidOperationException("The candidate cannot serve this operation; the caller filters candidates first.");

        // :: Step 3 Send, and read as far as the first byte allows: a stream's headers, an answer's body (or its head).
        HttpResponseMessage? response = null;
        try
        {
            response = await http.SendAsync(call.Message, attemptToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                using (response)
                {
                    var status = (int)response.StatusCode;
                    var errorBody = await ReadBoundedAsync(response.Content, RelayLimits.MaxErrorBodyBytes, attemptToken).ConfigureAwait(false);
                    var retryAfter = response.Headers.RetryAfter?.Delta
                        ?? (response.Headers.RetryAfter?.Date is { } date ? date - time.GetUtcNow() : null);
                    Log.UpstreamRefused(logger, account.Id, status);
                    return Stamp(UpstreamAttempt.Refused(candidate, status, errorBody, response.Content.Headers.ContentType?.ToString(), retryAfter), call);
                }
            }

            if (operation == UpstreamOperation.Chat && request.Head.Stream)
            {
                return Stamp(UpstreamAttempt.Answered(candidate, response), call);
            }

            // A translated answer is parsed whole, up to the relay's bound (a longer one keeps its rest unread and is
            // refused by AnswerRelay); a same-format one is relayed as bytes, so only its head is read here.
            var limit = call.Passthrough && operation is UpstreamOperation.Chat or UpstreamOperation.Compact ? RelayLimits.AnswerHeadBytes : relayOptions.Value.MaxAnswerBytes;
            var length = response.Content.Headers.ContentLength;
            var body = AnswerBody.Buffer(length, limit);
            try
            {
                var stream = await response.Content.ReadAsStreamAsync(attemptToken).ConfigureAwait(false);
                var whole = await AnswerBody.ReadAsync(stream, body, length, limit, attemptToken).ConfigureAwait(false);
                return Stamp(UpstreamAttempt.Answered(candidate, response, body, whole ? null : stream), call);
            }
            catch
            {
                body.Dispose();
                throw;
            }
        }
        // NOTE: a send that failed after its attempt's token was cancelled failed because of it, as HttpClient counted it
        // (it turned such an HttpRequestException into a cancellation); UpstreamHttp sends without HttpClient.
        catch (Exception e) when ((e is OperationCanceledException || e is HttpRequestException && attemptToken.IsCancellationRequested) && !clientAborted.IsCancellationRequested)
        {
            response?.Dispose();
            if (UpstreamStatus.IsRelaysOwn(e, attemptToken.IsCancellationRequested, UpstreamHttp.WasWritten(call.Message)))
            {
                // Every connection to this server stayed busy: the relay's own queue, not the upstream's slowness.
                Log.ConnectionQueueTimedOut(logger, account.Id);
                return UpstreamAttempt.Broken(
                    candidate,
                    FailureKind.Timeout,
                    new RelayError(ErrorKind.Unavailable, $"The relay's connections to the upstream {account.Provider.WireName()} stayed busy; retry shortly.") { RetryAfter = TimeSpan.FromSeconds(1) },
                    relaysOwn: true);
            }

            return UpstreamAttempt.Broken(candidate, FailureKind.Timeout, new RelayError(ErrorKind.Timeout, $"The upstream did not answer within {failoverOptions.Value.AttemptTimeout.TotalSeconds:0.#} s."));
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !clientAborted.IsCancellationRequested)
        {
            response?.Dispose();
            var reason = e is HttpRequestException h ? h.HttpRequestError.ToString() : "connection reset";
            var relaysOwn = UpstreamStatus.IsRelaysOwn(e, attemptTimedOut: false, UpstreamHttp.WasWritten(call.Message));
            Log.UpstreamUnreachable(logger, account.Id, relaysOwn ? reason + " (a local socket error)" : reason);
            return UpstreamAttempt.Broken(candidate, FailureKind.Unreachable, new RelayError(ErrorKind.Upstream, $"Could not reach the upstream {account.Provider.WireName()} ({reason})."), relaysOwn);
        }
    }

    private static UpstreamAttempt Stamp(UpstreamAttempt attempt, UpstreamCall call)
    {
        attempt.UpstreamFormat = call.Format;
        attempt.Passthrough = call.Passthrough;
        return attempt;
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBoundedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[limit];
        var total = 0;
        int read;
        while (total < limit && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
        }

        return buffer.AsMemory(0, total);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Upstream account {AccountId} unreachable: {Reason}")]
        public static partial void UpstreamUnreachable(ILogger logger, string accountId, string reason);

        [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Call to account {AccountId} timed out waiting for a free upstream connection (UpstreamHttp:MaxConnectionsPerServer); the account is not marked")]
        public static partial void ConnectionQueueTimedOut(ILogger logger, string accountId);

        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Upstream account {AccountId} answered {Status}")]
        public static partial void UpstreamRefused(ILogger logger, string accountId, int status);
    }
}
