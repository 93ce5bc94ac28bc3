using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Telemetry;

namespace Serverless.Relay.Failover;

/// <summary>The outcome of every attempt of one request.</summary>
/// <param name="Success">The attempt that answered; the caller relays it and disposes it.</param>
/// <param name="LastFailure">The last attempt that failed, when none answered; disposed by the caller.</param>
/// <param name="Attempts">How many calls were made.</param>
/// <param name="DeadlineReached">
/// Set when no attempt answered because the request's deadline (<see cref="FailoverOptions.TotalDeadline"/>) ran out:
/// the client is told that, in its own format, rather than the last attempt's error.
/// </param>
internal sealed record FailoverResult(UpstreamAttempt? Success, UpstreamAttempt? LastFailure, int Attempts, RelayError? DeadlineReached = null);

/// <summary>
/// Tries a <see cref="SchedulePlan"/>'s candidates one after another (a Polly v8 pipeline: a retry around a
/// per-attempt timeout, when that is shorter than the request's total deadline, run under that deadline) until one
/// answers. Every failure marks its account in <see cref="AccountHealth"/>, except what may be the relay's own doing
/// (see <see cref="Mark"/>); a retry moves to the next candidate that can take a slot. Only for the part before the first byte reaches the client: the caller relays
/// the answer afterwards, where nothing is retried.
/// </summary>
/// <remarks>
/// NOTE: the total deadline is a token of its own rather than a Polly timeout around the retry: the executor must know
/// that it, not the upstream, ended the attempts (to tell the client so, and to mark no account for it), and a Polly
/// timeout reports that only when the callback throws, while attempts return values.
/// </remarks>
internal sealed partial class FailoverExecutor
{
    private readonly FailoverOptions _options;
    private ResiliencePipeline<UpstreamAttempt>? _pipeline;
    private readonly AccountHealth _health;
    private readonly ILogger<FailoverExecutor> _logger;
    private readonly TimeProvider _time;
    private readonly RelayMetrics _metrics;

    public FailoverExecutor(IOptions<FailoverOptions> options, AccountHealth health, RelayMetrics metrics, TimeProvider time, ILogger<FailoverExecutor> logger)
    {
        _health = health;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _options = options.Value;
    }

    /// <summary>
    /// Built on the first request rather than at start: Polly validates a strategy's options with DataAnnotations as it
    /// adds it, and that first validation (reflection over the options' types) was about 6 % of the start-up's CPU,
    /// all of it before the readiness answer (bench/ANALYSIS.md, "Polly's pipelines built on first use"). The field is
    /// read first because the method group would be a new delegate on every request.
    /// </summary>
    private ResiliencePipeline<UpstreamAttempt> Pipeline => _pipeline ?? LazyInitializer.EnsureInitialized(ref _pipeline, BuildPipeline);

    private ResiliencePipeline<UpstreamAttempt> BuildPipeline()
    {
        var builder = new ResiliencePipelineBuilder<UpstreamAttempt> { TimeProvider = _time };
        if (_options.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<UpstreamAttempt>
            {
                MaxRetryAttempts = _options.MaxAttempts - 1,
                // NOTE: no back-off: the next attempt goes to another account, and the failed one is already marked.
                Delay = TimeSpan.Zero,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                ShouldHandle = static args => new ValueTask<bool>(args.Outcome.Result is { Retryable: true } && !args.Context.CancellationToken.IsCancellationRequested),
            });
        }

        // An attempt timeout no shorter than the request's deadline can never end an attempt first (the deadline starts
        // earlier and cuts every attempt): as configured by default, the pipeline is the retry alone, one layer less
        // around every request.
        if (_options.AttemptTimeout < _options.TotalDeadline)
        {
            builder.AddTimeout(_options.AttemptTimeout);
        }

        return builder.Build();
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
        // NOTE: a client gone is never an outcome inside the pipeline. Polly answers a cancelled caller (at its entry, and
        // in the timeout strategy when an attempt ends in a cancellation) with a new OperationCanceledException whose
        // stack trace it sets, and a native build formats that trace from its metadata there and then: about 0.27 ms of
        // CPU per client, over a quarter of a second of the only core when a thousand leave at once (bench/ANALYSIS.md,
        // "Clients that leave"). The cursor ends the attempts with a value instead, and the client's leaving is thrown
        // once, here.
        clientAborted.ThrowIfCancellationRequested();
        using var deadline = new CancellationTokenSource(_options.TotalDeadline, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(clientAborted, deadline.Token);
        var cursor = new Cursor(plan, attempt, this, deadline.Token, clientAborted);

        // NOTE: outcomes, not results: the cursor returns a value for everything (Polly's ExecuteAsync would wrap it in
        // one more async layer that catches, and rethrow).
        var context = ResilienceContextPool.Shared.Get(linked.Token);
        Outcome<UpstreamAttempt> outcome;
        try
        {
            outcome = await Pipeline.ExecuteOutcomeAsync(static (context, cursor) => cursor.NextAsync(context.CancellationToken), context, cursor).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        var final = outcome.Result;
        if (final is { Succeeded: true })
        {
            return new FailoverResult(final, null, cursor.Attempts);
        }

        if (clientAborted.IsCancellationRequested)
        {
            cursor.LastFailure?.Dispose();
            throw new OperationCanceledException(clientAborted);
        }

        if (outcome.Exception is { } fault and not (TimeoutRejectedException or OperationCanceledException))
        {
            // A bug in an attempt, thrown as it was. A cancellation is the total deadline falling between attempts.
            cursor.LastFailure?.Dispose();
            ExceptionDispatchInfo.Throw(fault);
        }

        var reached = deadline.IsCancellationRequested
            ? new RelayError(ErrorKind.Timeout, $"The relay's deadline of {_options.TotalDeadline.TotalSeconds:0.#} s for this request was reached before an upstream answered ({cursor.Attempts} attempt{(cursor.Attempts == 1 ? "" : "s")}).")
            : null;
        return new FailoverResult(null, cursor.LastFailure, cursor.Attempts, reached);
    }

    /// <summary>
    /// Marks the account of an attempt that answered but whose stream broke after the first byte: nothing can be
    /// retried then, but the account is marked for what it did, here like every other attempt.
    /// </summary>
    /// <param name="plan">The plan the answer came from: its last available account is spared the relay's own timeouts.</param>
    public void ReportBroken(SchedulePlan plan, UpstreamAttempt answered, FailureKind failure, string message)
    {
        var account = answered.Candidate.Account;
        Log.BrokenAfterFirstByte(_logger, account.Id, failure);
        if (failure is FailureKind.Timeout or FailureKind.Unreachable && IsLastAvailable(plan, account.Id))
        {
            // A silent or cut stream may be the relay's own doing (a starved reader): never the reason to refuse everyone.
            _health.NoteFailure(account.Id, message);
            return;
        }

        _health.ReportFailure(account.Id, failure, message);
    }

    /// <summary>
    /// Marks the account for what the attempt did. Not held against it (only noted): an attempt the request's own
    /// deadline cut short, and an unanswered attempt (the relay's attempt timeout, a connection that failed before any
    /// response) on the last account the plan could still use: those may be the relay's own doing (its queueing, its
    /// burst of connections), and taking out the last account would turn a slow moment into refusals for everyone.
    /// Nor, on any account, an attempt that never reached the upstream (<see cref="UpstreamAttempt.RelaysOwn"/>).
    /// A genuine upstream status (429, 5xx…) always marks.
    /// </summary>
    private void Mark(UpstreamAttempt attempt, SchedulePlan plan, bool deadlineReached)
    {
        var account = attempt.Candidate.Account;
        if (attempt.Succeeded)
        {
            _health.ReportSuccess(account.Id);
            return;
        }

        if (attempt.Failure is not { } failure)
        {
            return;
        }

        var message = attempt.Error?.Message ?? $"upstream answered {attempt.Status}";
        if (attempt.RelaysOwn || attempt.Unanswered && (deadlineReached || IsLastAvailable(plan, account.Id)))
        {
            Log.AttemptFailedUnmarked(_logger, account.Id, failure);
            _health.NoteFailure(account.Id, message);
            return;
        }

        Log.AttemptFailed(_logger, account.Id, failure, attempt.Status);
        _health.ReportFailure(account.Id, failure, message, attempt.RetryAfter);
    }

    /// <summary>No other account of the plan would take a request now.</summary>
    private bool IsLastAvailable(SchedulePlan plan, string accountId)
    {
        foreach (var candidate in plan.Candidates)
        {
            if (candidate.Account.Id != accountId && _health.IsAvailable(candidate.Account.Id))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Walks the plan: each call takes the next candidate that grants a slot.</summary>
    private sealed class Cursor(
        SchedulePlan plan,
        Func<Candidate, CancellationToken, ValueTask<UpstreamAttempt>> attempt,
        FailoverExecutor owner,
        CancellationToken deadline,
        CancellationToken clientAborted)
    {
        private int _next;

        public int Attempts { get; private set; }

        public UpstreamAttempt? LastFailure { get; private set; }

        /// <summary>The next attempt's outcome: always a value (Polly's outcome-based execution wants no throws).</summary>
        public async ValueTask<Outcome<UpstreamAttempt>> NextAsync(CancellationToken cancellationToken)
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

                if (LastFailure?.Failure is { } previous)
                {
                    owner._metrics.FailedOver(previous.WireName());
                }

                Attempts++;
                UpstreamAttempt result;
                try
                {
                    result = await attempt(candidate, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    lease.Dispose();
                    return clientAborted.IsCancellationRequested ? Outcome.FromResult(NothingLeft) : Outcome.FromException<UpstreamAttempt>(e);
                }

                result.Lease = lease;
                owner.Mark(result, plan, deadline.IsCancellationRequested);
                if (!result.Succeeded)
                {
                    LastFailure?.Dispose();
                    LastFailure = result;
                    lease.Dispose();
                }

                return Outcome.FromResult(result);
            }

            return Outcome.FromResult(NothingLeft);
        }

        /// <summary>
        /// No candidate left to try, or the client gone: not retryable, so the retry stops; the last real failure stands.
        /// </summary>
        private static UpstreamAttempt NothingLeft { get; } =
            UpstreamAttempt.Refused(new Candidate(null!, ""), 0, default, null, null);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1600, Level = LogLevel.Information, Message = "Attempt on account {AccountId} failed ({Failure}, status {Status}); trying the next candidate")]
        public static partial void AttemptFailed(ILogger logger, string accountId, FailureKind failure, int status);

        [LoggerMessage(EventId = 1602, Level = LogLevel.Information, Message = "Attempt on account {AccountId} got no answer ({Failure}); not held against it: the relay's own queue or socket failed, the request's deadline cut it, or it is the last account available")]
        public static partial void AttemptFailedUnmarked(ILogger logger, string accountId, FailureKind failure);

        [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Stream from account {AccountId} broke after the first byte ({Failure})")]
        public static partial void BrokenAfterFirstByte(ILogger logger, string accountId, FailureKind failure);
    }
}
