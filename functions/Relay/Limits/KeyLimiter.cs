using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Telemetry;

namespace Serverless.Relay.Limits;

/// <summary>
/// Enforces every key's limits across all instances. Each counter (key, metric, window period) lives in an
/// <see cref="ICounterStore"/>; this instance holds a <em>lease</em> on it — a slice of the remaining allowance —
/// and decides requests in memory while the slice lasts (the synchronous fast path: no I/O, no Task). When it runs
/// out, the instance syncs: reports what it consumed and asks for another slice; the store's ETag-conditional write
/// makes sure no allowance is handed out twice. Every <see cref="LimitOptions.FlushInterval"/> the instance reports its
/// use and renews the leases of counters in use (so a busy key never waits for storage at a flush; one far below its
/// limit only every <see cref="LimitOptions.QuietSyncInterval"/>), and returns what an
/// idle counter holds unused (and everything on stop), so an idle instance does not sit on another's share.
/// </summary>
/// <remarks>
/// Requests and concurrency are exact: a request is admitted only against allowance leased to it. Tokens and cost are
/// known only when a request ends, so a request is admitted while its estimated input tokens (and at least one output
/// token, one micro-USD) fit; what it really used is charged after. The overshoot is therefore bounded by what the requests
/// already admitted when the allowance ran out spend beyond their reservation (README, "Limits").
/// </remarks>
internal sealed partial class KeyLimiter : IHostedService, IAsyncDisposable
{
    private readonly ICounterStore _store;
    private readonly TimeProvider _time;
    private readonly LimitOptions _options;

    /// <summary>How long a counter far below its limit may go without a sync: the setting, kept within what its lease outlasts.</summary>
    private readonly TimeSpan _quietSync;
    private readonly Lazy<TokenEstimator> _estimator;
    private readonly ILogger<KeyLimiter> _logger;
    private readonly IKeyLimitEvents? _events;
    private readonly RelayMetrics? _metrics;
    private readonly ConcurrentDictionary<string, KeyCounters> _keys = new(StringComparer.Ordinal);

    /// <summary>Quotas already reported on this instance, by key and counter row (so once per window), with the window's end.</summary>
    private readonly ConcurrentDictionary<(string KeyId, string Counter), DateTimeOffset?> _reported = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _flushLoop;

    internal const int MaxReported = 10_000;

    /// <summary>The refusal metric's label when storage could not be reached to check the limits (fail closed).</summary>
    internal const string UncheckedLimit = "unchecked";

    /// <summary>When a request refused because its limits could not be checked may try again.</summary>
    private static readonly TimeSpan UncheckedRetryAfter = TimeSpan.FromSeconds(1);

    /// <param name="estimator">Lazy: loading the tokenizer takes a while, and start-up must not wait for it (only token limits need it).</param>
    /// <param name="events">Told when a quota or budget first refuses a key in a window (notifications); none when null.</param>
    /// <param name="metrics">Counts every refusal by the limit that made it; none when null.</param>
    public KeyLimiter(ICounterStore store, TimeProvider time, IOptions<LimitOptions> options, Lazy<TokenEstimator> estimator, ILogger<KeyLimiter> logger, IKeyLimitEvents? events = null, RelayMetrics? metrics = null)
    {
        _events = events;
        _metrics = metrics;
        _store = store;
        _time = time;
        _options = options.Value;
        _quietSync = TimeSpan.FromTicks(Math.Min(_options.QuietSyncInterval.Ticks, (_options.LeaseDuration - 2 * _options.FlushInterval).Ticks));
        _estimator = estimator;
        _logger = logger;
    }

    /// <summary>Keys with counters on this instance: for tests and diagnostics.</summary>
    internal int KeysKept => _keys.Count;

    /// <summary>Quotas remembered as reported on this instance: for tests and diagnostics.</summary>
    internal int QuotasRemembered => _reported.Count;

    /// <summary>This instance's name in the counters' lease lists.</summary>
    public string Instance { get; } = "i" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>
    /// Admits the request or refuses it. Completes synchronously when this instance's leases cover it (the common case).
    /// Dispose the lease when the request ends.
    /// </summary>
    /// <param name="prompt">
    /// The canonical request, whose tokens are estimated when the key's limits count them
    /// (<see cref="KeyLimits.CountsPromptTokens"/>); null for any other key, so a same-format relay need not read it.
    /// </param>
    public ValueTask<KeyLease> AcquireAsync(ClientKey key, ChatRequest? prompt, CancellationToken cancellationToken) =>
        Acquire(key, prompt, promptTokens: null, cancellationToken);

    /// <summary>As <see cref="AcquireAsync(ClientKey, ChatRequest?, CancellationToken)"/> for a prompt the caller has counted.</summary>
    /// <param name="promptTokens">The prompt's <see cref="TokenEstimator"/> count, made by the caller (<c>RelayRequest.CountPromptTokens</c>, in place where it can).</param>
    public ValueTask<KeyLease> AcquireAsync(ClientKey key, int promptTokens, CancellationToken cancellationToken) =>
        Acquire(key, prompt: null, promptTokens, cancellationToken);

    private ValueTask<KeyLease> Acquire(ClientKey key, ChatRequest? prompt, int? promptTokens, CancellationToken cancellationToken)
    {
        var rules = key.Limits.Rules;
        if (rules.Count == 0)
        {
            return new ValueTask<KeyLease>(KeyLease.Unlimited);
        }

        var now = _time.GetUtcNow();
        var needs = new Need[rules.Count];
        long? estimate = null;
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var (start, resetsAt) = LimitWindows.PeriodOf(rule.Window, now);
            long amount = 1;
            if (rule.CountsPromptTokens)
            {
                estimate ??= Math.Max(1, promptTokens ?? _estimator.Value.Count(prompt ?? throw new ArgumentNullException(nameof(prompt), "This key's limits count prompt tokens.")));
                amount = estimate.Value;
                if (amount > rule.Amount)
                {
                    // No wait makes this fit: say so rather than promise a retry.
                    _metrics?.LimitRefused(rule.FieldName);
                    return new ValueTask<KeyLease>(new KeyLease([], rule, null, [new LimitStatus(rule, rule.Amount, resetsAt)], oversizedTokens: amount));
                }
            }

            needs[i] = new Need(rule, new CounterKey(rule.Metric, rule.Window, start.UtcTicks), start, resetsAt, amount);
        }

        var state = _keys.GetOrAdd(key.Id, static id => new KeyCounters(id));
        var lease = TryTake(state, needs, now);
        return lease is not null ? new ValueTask<KeyLease>(lease) : new ValueTask<KeyLease>(AcquireSlowAsync(state, needs, cancellationToken));
    }

    /// <summary>What this instance has spent on a counter and not reported to the store yet (a quota read adds it).</summary>
    public long Unreported(string keyId, LimitRule rule, DateTimeOffset periodStart)
    {
        if (!_keys.TryGetValue(keyId, out var state))
        {
            return 0;
        }

        lock (state)
        {
            return state.Counters.TryGetValue(new CounterKey(rule.Metric, rule.Window, periodStart.UtcTicks), out var counter) ? counter.Pending : 0;
        }
    }

    /// <summary>Takes every need from the local leases, or nothing; null when some lease is missing, lapsing or short.</summary>
    private KeyLease? TryTake(KeyCounters state, Need[] needs, DateTimeOffset now)
    {
        var renewBy = now + _options.FlushInterval;
        // NOTE: the counters found while checking are kept in the takes, so each is looked up once; a shortfall wastes
        // the array only on the way to a sync.
        var takes = new Take[needs.Length];
        lock (state)
        {
            for (var i = 0; i < needs.Length; i++)
            {
                if (!state.Counters.TryGetValue(needs[i].Counter, out var counter) || counter.LeaseUntil <= renewBy || counter.Free < needs[i].Amount)
                {
                    return null;
                }

                takes[i] = new Take(state, counter, needs[i].Amount);
            }

            var statuses = new LimitStatus[needs.Length];
            for (var i = 0; i < needs.Length; i++)
            {
                var counter = takes[i].Counter;
                counter.Rule = needs[i].Rule;
                counter.Free -= needs[i].Amount;
                counter.Held += needs[i].Amount;
                counter.Active = true;
                statuses[i] = counter.Status();
            }

            return new KeyLease(takes, null, null, statuses);
        }
    }

    private async Task<KeyLease> AcquireSlowAsync(KeyCounters state, Need[] needs, CancellationToken cancellationToken)
    {
        await state.SyncLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        while (state.Retired)
        {
            // A flush let the key go, idle, while this request waited for its lock: its counters start again in a new state.
            state.SyncLock.Release();
            state = _keys.GetOrAdd(state.KeyId, static id => new KeyCounters(id));
            await state.SyncLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var now = _time.GetUtcNow();
            if (TryTake(state, needs, now) is { } lease)
            {
                return lease;
            }

            if (now < state.SyncFailedUntil)
            {
                // NOTE: the key's requests queue on its sync lock; while storage does not answer, each would otherwise wait
                // out a sync of its own, one after another. Refused at once until the Retry-After the timed-out sync gave.
                _metrics?.LimitRefused(UncheckedLimit);
                return Unchecked();
            }

            await SyncUncoveredAsync(state, needs, now, cancellationToken).ConfigureAwait(false);
            return TryTake(state, needs, now) ?? Refuse(state, needs, now);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Fail closed: a budget must not be overspent because storage is briefly away.
            Log.SyncFailed(_logger, state.KeyId, e);
            _metrics?.LimitRefused(UncheckedLimit);
            return Unchecked();
        }
        finally
        {
            state.SyncLock.Release();
        }
    }

    /// <summary>
    /// Syncs the counters whose leases do not cover <paramref name="needs"/>, within <see cref="LimitOptions.SyncTimeout"/>:
    /// a deadline of its own, since the table SDK gives a hanging storage 10 s a try, three tries. A sync that runs out
    /// of time holds the key's next syncs back for <see cref="UncheckedRetryAfter"/>. A failure storage answered quickly
    /// does not: the next request finds out again for nothing, and one such failure among many syncs stays one refusal.
    /// </summary>
    private async Task SyncUncoveredAsync(KeyCounters state, Need[] needs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.SyncTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var syncs = new List<Task>(needs.Length);
        foreach (var need in needs)
        {
            LocalCounter counter;
            lock (state)
            {
                if (!state.Counters.TryGetValue(need.Counter, out counter!))
                {
                    // NOTE: the row name is formatted once per counter and period, never on the hot path.
                    state.Counters[need.Counter] = counter = new LocalCounter(need.Counter, LimitWindows.CounterName(need.Rule, need.PeriodStart), need.Rule, need.ResetsAt);
                }

                counter.Rule = need.Rule;
                if (counter.LeaseUntil > now + _options.FlushInterval && counter.Free >= need.Amount)
                {
                    continue;
                }
            }

            syncs.Add(SyncAsync(state, counter, need.Amount, now, linked.Token).AsTask());
        }

        try
        {
            // NOTE: each counter is a row of its own: the key's requests wait for one round trip, not one per limit.
            await Task.WhenAll(syncs).ConfigureAwait(false);
        }
        catch when (deadline.IsCancellationRequested)
        {
            state.SyncFailedUntil = _time.GetUtcNow() + UncheckedRetryAfter;
            throw;
        }
    }

    private static KeyLease Unchecked() => new([], null, UncheckedRetryAfter, [], "Usage limits could not be checked just now; try again.");

    private KeyLease Refuse(KeyCounters state, Need[] needs, DateTimeOffset now)
    {
        KeyLease lease;
        LocalCounter? refusing = null;
        lock (state)
        {
            LimitRule? refusedBy = null;
            TimeSpan? retryAfter = TimeSpan.Zero;
            var statuses = new LimitStatus[needs.Length];
            for (var i = 0; i < needs.Length; i++)
            {
                var counter = state.Counters[needs[i].Counter];
                statuses[i] = counter.Status();
                if (counter.Free >= needs[i].Amount)
                {
                    continue;
                }

                refusing ??= counter;
                refusedBy ??= needs[i].Rule;
                var wait = WaitFor(counter, now);
                retryAfter = retryAfter is null || wait is null ? null : wait > retryAfter ? wait : retryAfter;
            }

            Log.Refused(_logger, state.KeyId, refusedBy!.FieldName);
            _metrics?.LimitRefused(refusedBy.FieldName);
            lease = new KeyLease([], refusedBy, retryAfter, statuses);
        }

        ReportQuota(state.KeyId, refusing!.Rule, refusing, now);
        return lease;
    }

    /// <summary>
    /// Tells <see cref="_events"/> the first time a quota or budget refuses the key in a window, on this instance (each
    /// instance reports once: the events are throttled again where they are sent).
    /// </summary>
    private void ReportQuota(string keyId, LimitRule rule, LocalCounter counter, DateTimeOffset now)
    {
        if (_events is null || !KeyLimitEventSinks.IsQuota(rule) || !_reported.TryAdd((keyId, counter.Name), counter.ResetsAt))
        {
            return;
        }

        if (_reported.Count > MaxReported)
        {
            foreach (var (reported, resetsAt) in _reported)
            {
                if (resetsAt <= now)
                {
                    _reported.TryRemove(reported, out _);
                }
            }

            if (_reported.Count > MaxReported)
            {
                // Windows without an end (a lifetime budget) never leave above: start again. A quota reported again is
                // throttled where its events are sent.
                _reported.Clear();
            }
        }

        _events.Raise(new QuotaReached(keyId, rule, now, counter.ResetsAt));
    }

    /// <summary>How long until the counter can have room: its window's end, or sooner when other instances' leases lapse.</summary>
    private static TimeSpan? WaitFor(LocalCounter counter, DateTimeOffset now)
    {
        if (counter.Rule.Metric == LimitMetric.Concurrency)
        {
            return TimeSpan.FromSeconds(1);
        }

        DateTimeOffset? at = counter.ResetsAt;
        if (counter.OthersFreeAt is { } othersFree && (at is null || othersFree < at))
        {
            at = othersFree;
        }

        return at is { } when ? (when > now ? when - now : TimeSpan.Zero) : null;
    }

    /// <summary>Reports the counter's pending use to the store and replaces its free lease with what the store grants for <paramref name="need"/>.</summary>
    private async ValueTask SyncAsync(KeyCounters state, LocalCounter counter, long need, DateTimeOffset now, CancellationToken cancellationToken)
    {
        long consumed, held, freeBefore, limit;
        lock (state)
        {
            consumed = counter.Pending;
            counter.Pending = 0;
            held = counter.Held;
            freeBefore = counter.Free;
            limit = counter.Rule.Amount;
        }

        CounterGrant grant;
        try
        {
            grant = await _store.SyncAsync(new CounterSync(state.KeyId, counter.Name, Instance, limit, consumed, held, need, now, now + _options.LeaseDuration), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (state)
            {
                counter.Pending += consumed;
            }

            throw;
        }

        lock (state)
        {
            // NOTE: requests of this key kept taking from and returning to the old free lease while we waited; their net
            // change carries over onto the new one, so the store's lease (granted + held) still covers them.
            counter.Free = grant.Granted + (counter.Free - freeBefore);
            counter.LeaseUntil = now + _options.LeaseDuration;
            counter.LastSync = now;
            counter.KnownUsed = grant.Used + grant.OthersLeased;
            counter.ReportedUsed = grant.Used;
            counter.OthersFreeAt = grant.OthersFreeAt;
        }
    }

    /// <summary>Charges a finished request's real use and gives back its reservations.</summary>
    internal static void Release(Take[] takes, Usage usage, long costMicros)
    {
        var state = takes[0].State;
        lock (state)
        {
            foreach (var take in takes)
            {
                var counter = take.Counter;
                counter.Held -= take.Amount;
                var used = counter.Rule.Metric switch
                {
                    LimitMetric.Requests => take.Amount,
                    LimitMetric.Tokens => usage.TotalTokens,
                    LimitMetric.InputTokens => usage.TotalInputTokens,
                    LimitMetric.OutputTokens => usage.OutputTokens,
                    LimitMetric.Cost => costMicros,
                    _ => 0, // a concurrency slot is returned, not spent
                };
                counter.Free += take.Amount - used;
                counter.Pending += used;
            }
        }
    }

    /// <summary>
    /// One flush round: every counter reports its use and renews its lease. A counter that took a request since the last
    /// round keeps a free slice (as a waiting request would get); one idle for a whole round, or every counter when
    /// <paramref name="handBack"/> (stopping), hands its free lease back and keeps only what requests in flight hold.
    /// While its key is far below the limit a counter may leave either to a later round (<see cref="LocalCounter.MayWait"/>).
    /// Counters of ended windows are forgotten once settled.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken, bool handBack = false)
    {
        var now = _time.GetUtcNow();
        foreach (var state in _keys.Values)
        {
            await state.SyncLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                List<(LocalCounter Counter, long Need)> due;
                lock (state)
                {
                    // NOTE: a counter that served requests since the last flush renews as if a request were waiting
                    // (its held part, one unit and a slice of the rest): returning its free lease would make the key's
                    // next request wait for a round trip to storage, every flush. An idle one hands its lease back.
                    // Either may wait for a later round while the key is far below the limit (MayWait); a counter whose
                    // window has ended, and every counter when stopping, reports now.
                    due = [.. state.Counters.Values
                        .Where(c => c.Pending != 0 || c.Free != 0 || c.Held != 0 || c.Active)
                        .Where(c => handBack || c.ResetsAt <= now || !c.MayWait(now, _quietSync, _options.FlushInterval))
                        .Select(c => (c, !handBack && c.Active && (c.ResetsAt is null || c.ResetsAt > now) ? 1L : 0L))];
                }

                await Task.WhenAll(due.Select(d => FlushOneAsync(state, d.Counter, d.Need, now, cancellationToken))).ConfigureAwait(false);

                lock (state)
                {
                    foreach (var counter in state.Counters.Values.ToList())
                    {
                        if (counter is { Pending: 0, Held: 0, Free: <= 0 } && (!counter.Active || counter.ResetsAt <= now))
                        {
                            state.Counters.Remove(counter.Key);
                        }

                        counter.Active = false;
                    }

                    // NOTE: a key with nothing left is let go, or every key (and IM user) ever limited would stay, and be
                    // visited every round. Counters are added only under the sync lock, held here, and a request that
                    // finds the state retired once it holds the lock takes a new one (AcquireSlowAsync).
                    if (state.Counters.Count == 0)
                    {
                        state.Retired = true;
                        _keys.TryRemove(KeyValuePair.Create(state.KeyId, state));
                    }
                }
            }
            finally
            {
                state.SyncLock.Release();
            }
        }
    }

    private async Task FlushOneAsync(KeyCounters state, LocalCounter counter, long need, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            await SyncAsync(state, counter, need, now, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.SyncFailed(_logger, state.KeyId, e);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _flushLoop ??= Task.Run(FlushLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops the periodic flush, then reports everything and returns every unused lease.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_flushLoop is not null)
        {
            await _flushLoop.ConfigureAwait(false);
        }

        await FlushAsync(cancellationToken, handBack: true).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async Task FlushLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.FlushInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                await FlushAsync(_stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private readonly record struct Need(LimitRule Rule, CounterKey Counter, DateTimeOffset PeriodStart, DateTimeOffset? ResetsAt, long Amount);

    /// <summary>A counter without its formatted name: metric, window and the period's start.</summary>
    internal readonly record struct CounterKey(LimitMetric Metric, LimitWindow Window, long PeriodStartTicks);

    internal readonly record struct Take(KeyCounters State, LocalCounter Counter, long Amount);

    /// <summary>One key's counters on this instance; locked for decisions, <see cref="SyncLock"/> serializes its storage syncs.</summary>
    internal sealed class KeyCounters(string keyId)
    {
        public string KeyId { get; } = keyId;

        public Dictionary<CounterKey, LocalCounter> Counters { get; } = [];

        public SemaphoreSlim SyncLock { get; } = new(1, 1);

        /// <summary>Until when a sync on the request path is not tried again after one ran out of time; written under <see cref="SyncLock"/>.</summary>
        public DateTimeOffset SyncFailedUntil { get; set; }

        /// <summary>Let go by a flush with no counter left: no longer in the limiter's keys; written and read under <see cref="SyncLock"/>.</summary>
        public bool Retired { get; set; }
    }

    /// <summary>This instance's side of one shared counter.</summary>
    internal sealed class LocalCounter(CounterKey key, string name, LimitRule rule, DateTimeOffset? resetsAt)
    {
        public CounterKey Key { get; } = key;

        /// <summary>The row name in the store, e.g. <c>tokens-day-20261123</c>.</summary>
        public string Name { get; } = name;

        public LimitRule Rule { get; set; } = rule;

        public DateTimeOffset? ResetsAt { get; } = resetsAt;

        /// <summary>Leased allowance this instance may still hand out (negative after a request spent more than it reserved).</summary>
        public long Free { get; set; }

        /// <summary>Reserved by requests in flight.</summary>
        public long Held { get; set; }

        /// <summary>Spent, not yet reported to the store.</summary>
        public long Pending { get; set; }

        public DateTimeOffset LeaseUntil { get; set; }

        /// <summary>When this instance last synced the counter with the store.</summary>
        public DateTimeOffset LastSync { get; set; }

        /// <summary>At the last sync: committed use plus other instances' leases.</summary>
        public long KnownUsed { get; set; }

        /// <summary>At the last sync: committed use, as every instance has reported it.</summary>
        public long ReportedUsed { get; set; }

        public DateTimeOffset? OthersFreeAt { get; set; }

        /// <summary>Took a request since the last flush.</summary>
        public bool Active { get; set; }

        public LimitStatus Status() => new(Rule, Math.Max(0, Rule.Amount - KnownUsed - Pending - Held), ResetsAt);

        /// <summary>
        /// Whether the sync due at this flush (a renewal, or an idle lease handed back) may wait for a later one: the
        /// counter synced less than <see cref="LimitOptions.QuietSyncInterval"/> ago, the key has used no more than half
        /// the limit (as reported at that sync, plus this instance's use and requests in flight since), and the free
        /// lease covers the requests in flight plus what the counter spends at its pace until the sync that cannot wait.
        /// </summary>
        /// <remarks>
        /// Waiting delays only the report of what this instance spent out of its own lease, which the store already
        /// counts as taken, so other instances cannot overspend meanwhile. Nearer the limit every flush syncs, so the
        /// slices shrink and unused allowance goes back to the instances that need it. Other instances' leases are not
        /// counted as use: with many instances sharing a key they hold much of what is left (each a slice), and renewing
        /// more often would not shrink them.
        /// </remarks>
        /// <param name="quiet">How long a counter may go without a sync (<see cref="LimitOptions.QuietSyncInterval"/>, within the lease).</param>
        /// <param name="flush">The flush rounds' interval: a counter that waits syncs at the first round after <paramref name="quiet"/>.</param>
        public bool MayWait(DateTimeOffset now, TimeSpan quiet, TimeSpan flush)
        {
            var sinceSync = now - LastSync;
            if (sinceSync <= TimeSpan.Zero || sinceSync >= quiet
                || (ReportedUsed + Pending + Held) * 2 > Rule.Amount)
            {
                return false;
            }

            var untilSync = quiet + flush - sinceSync;
            return Free >= Held + Pending * (untilSync / sinceSync);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1510, Level = LogLevel.Information, Message = "Key {KeyId} refused by its {Limit} limit")]
        public static partial void Refused(ILogger logger, string keyId, string limit);

        [LoggerMessage(EventId = 1511, Level = LogLevel.Warning, Message = "Syncing the limit counters of key {KeyId} failed")]
        public static partial void SyncFailed(ILogger logger, string keyId, Exception exception);
    }
}
