using System.Collections.Concurrent;
using System.Numerics;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Accounts;

/// <summary>Whether an account takes requests now.</summary>
internal enum AccountStatus
{
    Available,
    /// <summary>A 429 or 529 told us to wait; lapses at its <c>until</c>.</summary>
    CoolingDown,
    /// <summary>Repeated 5xx, timeouts or connect failures; one probe is let through after the break.</summary>
    CircuitOpen,
    /// <summary>The break is over: the next request is a probe that closes or reopens the circuit.</summary>
    HalfOpen,
    /// <summary>Its credentials refused (401/403, Gemini's 400 API_KEY_INVALID) or a failed token refresh: out until an admin changes the account.</summary>
    Disabled,
}

/// <summary>The names the admin API and the metrics give health statuses and failure kinds.</summary>
internal static class AccountHealthNames
{
    public static string WireName(this AccountStatus status) => status switch
    {
        AccountStatus.CoolingDown => "cooling-down",
        AccountStatus.CircuitOpen => "circuit-open",
        AccountStatus.HalfOpen => "half-open",
        AccountStatus.Disabled => "disabled",
        _ => "available",
    };

    public static string WireName(this FailureKind kind) => kind switch
    {
        FailureKind.RateLimited => "rate-limited",
        FailureKind.Overloaded => "overloaded",
        FailureKind.ServerError => "server-error",
        FailureKind.Timeout => "timeout",
        FailureKind.Unreachable => "unreachable",
        FailureKind.Unauthorized => "unauthorized",
        _ => "token-refresh-failed",
    };
}

/// <summary>Why an upstream call failed, as far as marking the account is concerned.</summary>
internal enum FailureKind
{
    RateLimited,
    Overloaded,
    ServerError,
    Timeout,
    Unreachable,
    Unauthorized,
    TokenRefreshFailed,
}

/// <summary>What <c>GET /api/admin/accounts</c> shows of an account's health on this instance.</summary>
internal sealed record AccountHealthView(AccountStatus Status, DateTimeOffset? Until, string? LastError, DateTimeOffset? LastErrorAt, int InFlight, int RecentRequests, double? SuccessRate);

/// <summary>
/// The health of every account on this instance: in-flight counts, cool-downs, circuits, disables. One singleton
/// shared by all requests; every check is in memory (a lock per account, no storage I/O), so it sits on the hot path.
/// Marks are per instance by design: each instance learns an upstream's state from its own calls.
/// </summary>
internal sealed class AccountHealth(IOptions<AccountHealthOptions> options, IAccountEventSink events, TimeProvider time) : IAccountMemory
{
    /// <summary>Outcomes remembered for the success rate (a 64-bit shift register).</summary>
    public const int RecentWindow = 64;

    private readonly ConcurrentDictionary<string, State> _states = new(StringComparer.Ordinal);
    private readonly AccountHealthOptions _options = options.Value;

    /// <summary>The status now, without taking anything.</summary>
    public AccountStatus StatusOf(string accountId, out DateTimeOffset? until)
    {
        until = null;
        if (!_states.TryGetValue(accountId, out var state))
        {
            return AccountStatus.Available;
        }

        lock (state.Gate)
        {
            return state.Status(time.GetUtcNow(), out until);
        }
    }

    /// <summary>How many accounts this instance keeps a state for.</summary>
    internal int Tracked => _states.Count;

    public int InFlight(string accountId) => _states.TryGetValue(accountId, out var state) ? Volatile.Read(ref state.InFlight) : 0;

    /// <summary>
    /// Takes a slot on the account: null when it is marked unavailable, at its concurrency cap, or half-open with its
    /// probe already out. Dispose the lease when the request is done with the account (after its stream ends).
    /// </summary>
    public AccountLease? TryAcquire(UpstreamAccount account)
    {
        var state = _states.GetOrAdd(account.Id, static _ => new State());
        var probe = false;
        lock (state.Gate)
        {
            switch (state.Status(time.GetUtcNow(), out _))
            {
                case AccountStatus.Available:
                    break;
                case AccountStatus.HalfOpen when !state.ProbeOut:
                    probe = true;
                    break;
                default:
                    return null;
            }

            // NOTE: the cap is checked and the slot taken under the lock, so parallel requests cannot overshoot it.
            if (account.MaxConcurrency is { } cap && state.InFlight >= cap)
            {
                return null;
            }

            state.InFlight++;
            state.ProbeOut |= probe;
        }

        return new AccountLease(account.Id, state, probe);
    }

    public void ReportSuccess(string accountId)
    {
        var state = _states.GetOrAdd(accountId, static _ => new State());
        AccountEvent? raised = null;
        lock (state.Gate)
        {
            state.Record(success: true);
            state.ConsecutiveFailures = 0;
            if (state.OpenUntil is not null)
            {
                state.OpenUntil = null;
                state.ProbeOut = false;
                raised = new AccountEvent(accountId, AccountStatus.Available, time.GetUtcNow(), null, "circuit closed: the probe succeeded");
            }
        }

        if (raised is not null)
        {
            events.Raise(raised);
        }
    }

    /// <summary>Marks the account for a failure; <paramref name="retryAfter"/> is the upstream's own hint, if any.</summary>
    public void ReportFailure(string accountId, FailureKind kind, string message, TimeSpan? retryAfter = null)
    {
        var state = _states.GetOrAdd(accountId, static _ => new State());
        var now = time.GetUtcNow();
        AccountEvent? raised = null;
        lock (state.Gate)
        {
            state.Record(success: false);
            state.LastError = message;
            state.LastErrorAt = now;
            switch (kind)
            {
                case FailureKind.RateLimited or FailureKind.Overloaded:
                    var wait = retryAfter is { } hint && hint > TimeSpan.Zero
                        ? (hint < _options.MaxCooldown ? hint : _options.MaxCooldown)
                        : kind == FailureKind.RateLimited ? _options.RateLimitCooldown : _options.OverloadedCooldown;
                    var until = now + wait;
                    if (state.CoolUntil is not { } current || current < until)
                    {
                        state.CoolUntil = until;
                    }

                    raised = new AccountEvent(accountId, AccountStatus.CoolingDown, now, state.CoolUntil, message);
                    break;
                case FailureKind.Unauthorized or FailureKind.TokenRefreshFailed:
                    state.DisabledReason = message;
                    raised = new AccountEvent(accountId, AccountStatus.Disabled, now, null, message);
                    break;
                default:
                    state.ConsecutiveFailures++;
                    var probeFailed = state.OpenUntil is not null;
                    if (probeFailed || state.ConsecutiveFailures >= _options.CircuitFailureThreshold)
                    {
                        state.OpenUntil = now + _options.CircuitBreakDuration;
                        state.ProbeOut = false;
                        raised = new AccountEvent(accountId, AccountStatus.CircuitOpen, now, state.OpenUntil, message);
                    }

                    break;
            }
        }

        if (raised is not null)
        {
            events.Raise(raised);
        }
    }

    /// <summary>
    /// Records what went wrong without holding it against the account (no cool-down, no step towards its circuit): for
    /// failures that may be the relay's own doing (its attempt timeout, a connection that failed before any response)
    /// on the last account a request could use, where a mark would only turn a slow moment into refusals. The admin
    /// view still shows the error.
    /// </summary>
    public void NoteFailure(string accountId, string message)
    {
        var state = _states.GetOrAdd(accountId, static _ => new State());
        lock (state.Gate)
        {
            state.LastError = message;
            state.LastErrorAt = time.GetUtcNow();
        }
    }

    /// <summary>Whether the account would take a request now (available, or half-open with no probe out); caps aside.</summary>
    public bool IsAvailable(string accountId)
    {
        if (!_states.TryGetValue(accountId, out var state))
        {
            return true;
        }

        lock (state.Gate)
        {
            return state.Status(time.GetUtcNow(), out _) switch
            {
                AccountStatus.Available => true,
                AccountStatus.HalfOpen => !state.ProbeOut,
                _ => false,
            };
        }
    }

    /// <summary>Clears every mark (an admin changed the account); in-flight counts are kept.</summary>
    public void Reset(string accountId)
    {
        if (_states.TryGetValue(accountId, out var state))
        {
            lock (state.Gate)
            {
                state.CoolUntil = null;
                state.OpenUntil = null;
                state.ProbeOut = false;
                state.ConsecutiveFailures = 0;
                state.DisabledReason = null;
            }
        }
    }

    /// <remarks>
    /// A lease still out on a deleted account releases into the state it holds, which nothing reads any more. A request
    /// that read the directory before the delete may add a fresh state after this; the next read drops it.
    /// </remarks>
    public void KeepOnly(IReadOnlySet<string> accountIds) => AccountMemory.KeepOnly(_states, accountIds);

    public AccountHealthView View(string accountId)
    {
        if (!_states.TryGetValue(accountId, out var state))
        {
            return new AccountHealthView(AccountStatus.Available, null, null, null, 0, 0, null);
        }

        lock (state.Gate)
        {
            var status = state.Status(time.GetUtcNow(), out var until);
            var successes = BitOperations.PopCount(state.Outcomes & Mask(state.OutcomeCount));
            return new AccountHealthView(
                status, until, state.DisabledReason ?? state.LastError, state.LastErrorAt, state.InFlight, state.OutcomeCount,
                state.OutcomeCount == 0 ? null : Math.Round((double)successes / state.OutcomeCount, 3));
        }
    }

    private static void Release(State state, bool probe)
    {
        lock (state.Gate)
        {
            state.InFlight--;
            if (probe)
            {
                // A probe that ended without a verdict (the client left) lets the next request probe.
                state.ProbeOut = false;
            }
        }
    }

    private static ulong Mask(int count) => count >= 64 ? ulong.MaxValue : (1UL << count) - 1;

    internal sealed class State
    {
        public readonly Lock Gate = new();
        public int InFlight;
        public DateTimeOffset? CoolUntil;
        public DateTimeOffset? OpenUntil;
        public bool ProbeOut;
        public int ConsecutiveFailures;
        public string? DisabledReason;
        public string? LastError;
        public DateTimeOffset? LastErrorAt;
        public ulong Outcomes;
        public int OutcomeCount;

        public AccountStatus Status(DateTimeOffset now, out DateTimeOffset? until)
        {
            until = null;
            if (DisabledReason is not null)
            {
                return AccountStatus.Disabled;
            }

            if (OpenUntil is { } open)
            {
                until = open;
                return now < open ? AccountStatus.CircuitOpen : AccountStatus.HalfOpen;
            }

            if (CoolUntil is { } cool && now < cool)
            {
                until = cool;
                return AccountStatus.CoolingDown;
            }

            return AccountStatus.Available;
        }

        public void Record(bool success)
        {
            Outcomes = (Outcomes << 1) | (success ? 1UL : 0UL);
            if (OutcomeCount < RecentWindow)
            {
                OutcomeCount++;
            }
        }
    }

    /// <summary>A slot on an account; disposing it gives the slot back (once).</summary>
    internal sealed class AccountLease : IDisposable
    {
        private readonly State _state;
        private int _released;

        internal AccountLease(string accountId, State state, bool isProbe)
        {
            _state = state;
            AccountId = accountId;
            IsProbe = isProbe;
        }

        public string AccountId { get; }

        /// <summary>This request is the half-open probe: its outcome closes or reopens the circuit.</summary>
        public bool IsProbe { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Release(_state, IsProbe);
            }
        }
    }
}
