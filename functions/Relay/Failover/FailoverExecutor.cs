using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Failover;

/// <summary>The outcome of every attempt of one request.</summary>
/// <param name="Success">The attempt that answered; the caller relays it and disposes it.</param>
/// <param name="LastFailure">The last attempt that failed, when none answered; disposed by the caller.</param>
/// <param name="Attempts">How many calls were made.</param>
internal sealed record FailoverResult(UpstreamAttempt? Success, UpstreamAttempt? LastFailure, int Attempts);

/// <summary>
/// Tries a <see cref="SchedulePlan"/>'s candidates one after another (a Polly v8 pipeline: a total deadline around a
/// retry around a per-attempt timeout) until one answers. Every failure marks its account in
/// <see cref="AccountHealth"/>; a retry moves to the next candidate that can take a slot. Only for the part before the
/// first byte reaches the client: the caller relays the answer afterwards, where nothing is retried.
/// </summary>
internal sealed partial class FailoverExecutor
{
    private readonly ResiliencePipeline<UpstreamAttempt> _pipeline;
    private readonly AccountHealth _health;
    private readonly ILogger<FailoverExecutor> _logger;

    public FailoverExecutor(IOptions<FailoverOptions> options, AccountHealth health, TimeProvider time, ILogger<FailoverExecutor> logger)
    {
        _health = health;
        _logger = logger;
        var value = options.Value;
        var builder = new ResiliencePipelineBuilder<UpstreamAttempt> { TimeProvider = time }.AddTimeout(value.TotalDeadline);
        if (value.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<UpstreamAttempt>
            {
                MaxRetryAttempts = value.MaxAttempts - 1,
                // NOTE: no back-off: the next attempt goes to another account, and the failed one is already marked.
                Delay = TimeSpan.Zero,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                ShouldHandle = static args => new ValueTask<bool>(args.Outcome.Result is { Retryable: true }),
            });
        }

        _pipeline = builder.AddTimeout(value.AttemptTimeout).Build();
    }

    /// <param name="attempt">
    /// Calls one candidate (the relay's <c>UpstreamSender</c>: resolve the call, send it, read the answer). It must return a value for every upstream outcome, timeouts included (its token is cancelled
    /// by the attempt timeout or the total deadline), and throw only when the client went away.
    /// </param>
    public async ValueTask<FailoverResult> ExecuteAsync(
        SchedulePlan plan,
        Func<Candidate, CancellationToken, ValueTask<UpstreamAttempt>> attempt,
        CancellationToken clientAborted)
    {
        var cursor = new Cursor(plan, attempt, this);
        UpstreamAttempt? final;
        try
        {
            final = await _pipeline.ExecuteAsync(static (cursor, token) => cursor.NextAsync(token), cursor, clientAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutRejectedException or OperationCanceledException && !clientAborted.IsCancellationRequested)
        {
            // The total deadline fell between attempts.
            final = null;
        }

        if (final is { Succeeded: true })
        {
            return new FailoverResult(final, null, cursor.Attempts);
        }

        return new FailoverResult(null, cursor.LastFailure, cursor.Attempts);
    }

    /// <summary>
    /// Marks the account of an attempt that answered but whose stream broke after the first byte: nothing can be
    /// retried then, but the account is marked for what it did, here like every other attempt.
    /// </summary>
    public void ReportBroken(UpstreamAttempt answered, FailureKind failure, string message)
    {
        var account = answered.Candidate.Account;
        Log.BrokenAfterFirstByte(_logger, account.Id, failure);
        _health.ReportFailure(account.Id, failure, message);
    }

    private void Mark(UpstreamAttempt attempt)
    {
        var account = attempt.Candidate.Account;
        if (attempt.Succeeded)
        {
            _health.ReportSuccess(account.Id);
            return;
        }

        if (attempt.Failure is { } failure)
        {
            var message = attempt.Error?.Message ?? $"upstream answered {attempt.Status}";
            Log.AttemptFailed(_logger, account.Id, failure, attempt.Status);
            _health.ReportFailure(account.Id, failure, message, attempt.RetryAfter);
        }
    }

    /// <summary>Walks the plan: each call takes the next candidate that grants a slot.</summary>
    private sealed class Cursor(SchedulePlan plan, Func<Candidate, CancellationToken, ValueTask<UpstreamAttempt>> attempt, FailoverExecutor owner)
    {
        private int _next;

        public int Attempts { get; private set; }

        public UpstreamAttempt? LastFailure { get; private set; }

        public async ValueTask<UpstreamAttempt> NextAsync(CancellationToken cancellationToken)
        {
            while (_next < plan.Candidates.Count)
            {
                var candidate = plan.Candidates[_next++];
                var lease = owner._health.TryAcquire(candidate.Account);
                if (lease is null)
                {
                    // Marked or at its cap since the plan was made: not an attempt, just the next candidate.
                    continue;
                }

                Attempts++;
                UpstreamAttempt result;
                try
                {
                    result = await attempt(candidate, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    lease.Dispose();
                    throw;
                }

                result.Lease = lease;
                owner.Mark(result);
                if (!result.Succeeded)
                {
                    LastFailure?.Dispose();
                    LastFailure = result;
                    lease.Dispose();
                }

                return result;
            }

            return NothingLeft;
        }

        /// <summary>No candidate left to try: not retryable, so the retry stops; the last real failure stands.</summary>
        private static UpstreamAttempt NothingLeft { get; } =
            UpstreamAttempt.Refused(new Candidate(null!, ""), 0, default, null, null);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1600, Level = LogLevel.Information, Message = "Attempt on account {AccountId} failed ({Failure}, status {Status}); trying the next candidate")]
        public static partial void AttemptFailed(ILogger logger, string accountId, FailureKind failure, int status);

        [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Stream from account {AccountId} broke after the first byte ({Failure})")]
        public static partial void BrokenAfterFirstByte(ILogger logger, string accountId, FailureKind failure);
    }
}
