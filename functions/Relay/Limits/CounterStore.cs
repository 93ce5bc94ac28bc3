namespace Serverless.Relay.Limits;

/// <summary>
/// One instance's exchange with a shared counter: report what it consumed, keep what it still holds for requests in
/// flight, and ask for a lease (a slice of the remaining allowance) to decide the next requests in memory.
/// </summary>
/// <param name="KeyId">The key the counter belongs to.</param>
/// <param name="Counter">The counter's name: metric, window and period, e.g. <c>requests-minute-202611231534</c>.</param>
/// <param name="Limit">The limit now in force (a key's limits can change between syncs).</param>
/// <param name="Consumed">Consumed since this instance's last sync; added to the counter's <c>Used</c>.</param>
/// <param name="Held">Reserved by this instance's requests in flight; stays part of its lease.</param>
/// <param name="Need">Allowance the waiting request needs on top of <paramref name="Held"/>; 0 to only report (and return the rest).</param>
/// <param name="LeaseUntil">When this instance's lease lapses if it does not sync again (a crashed instance's lease is then reclaimed).</param>
internal sealed record CounterSync(
    string KeyId,
    string Counter,
    string Instance,
    long Limit,
    long Consumed,
    long Held,
    long Need,
    DateTimeOffset Now,
    DateTimeOffset LeaseUntil);

/// <summary>What the shared counter answered.</summary>
/// <param name="Granted">Allowance leased to the instance beyond its <see cref="CounterSync.Held"/>: at least the need when it fit, else what was left (possibly 0).</param>
/// <param name="Used">The counter's committed use after this sync.</param>
/// <param name="OthersLeased">Allowance leased to other instances (not expired).</param>
/// <param name="OthersFreeAt">When the first of the other instances' leases lapses, if any are held.</param>
internal sealed record CounterGrant(long Granted, long Used, long OthersLeased, DateTimeOffset? OthersFreeAt);

/// <summary>Where counters live: Table storage in production, memory in unit tests. Both apply <see cref="CounterState.Apply"/>.</summary>
internal interface ICounterStore
{
    ValueTask<CounterGrant> SyncAsync(CounterSync sync, CancellationToken cancellationToken);

    /// <summary>The counter as stored, or null when it was never touched. For the quota API.</summary>
    ValueTask<CounterReading?> ReadAsync(string keyId, string counter, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>A counter's committed use and the allowance instances hold in active leases.</summary>
internal sealed record CounterReading(long Used, long Leased);

/// <summary>
/// A shared counter's state: committed use plus the leases instances hold. Invariant (without overrun):
/// <c>Used + Σ leases ≤ Limit</c>, so no two instances can hand out the same allowance.
/// </summary>
internal sealed class CounterState
{
    /// <summary>
    /// Grants beyond the need take at most this fraction of what is left, so several instances can share a limit; with
    /// more instances holding leases, a smaller one (see <see cref="SliceOf"/>).
    /// </summary>
    public const int SliceDivisor = 8;

    public long Used { get; set; }

    public Dictionary<string, (long Amount, DateTimeOffset Until)> Leases { get; } = new(StringComparer.Ordinal);

    public long ActiveLeases(DateTimeOffset now, string? except = null) =>
        Leases.Where(l => l.Key != except && l.Value.Until > now).Sum(l => l.Value.Amount);

    /// <summary>
    /// The part of <paramref name="rest"/> granted beyond the need when <paramref name="sharers"/> instances hold
    /// leases. NOTE: a fixed eighth leased nearly all of the allowance to the first instances ((7/8)^64 of it, 1/5000,
    /// was left for the 65th): in bench/Scale 64 instances sharing a key at a quarter of its limits refused a third of
    /// its requests. Dividing by twice the sharers leaves about a quarter of it free after 64 grants.
    /// </summary>
    internal static long SliceOf(long rest, int sharers) => rest / Math.Max(SliceDivisor, 2 * sharers);

    /// <summary>
    /// The one counter rule, applied inside an ETag-conditional write (Table) or a lock (memory): add the reported
    /// use, drop lapsed leases, and lease the instance its held amount plus what it needs plus a slice of the rest.
    /// </summary>
    public CounterGrant Apply(CounterSync sync)
    {
        Used += sync.Consumed;
        foreach (var lapsed in Leases.Where(l => l.Value.Until <= sync.Now).Select(l => l.Key).ToList())
        {
            Leases.Remove(lapsed);
        }

        var others = ActiveLeases(sync.Now, sync.Instance);
        var available = Math.Max(0, sync.Limit - Used - others - sync.Held);
        var granted = sync.Need <= 0
            ? 0
            : sync.Need > available ? available : sync.Need + SliceOf(available - sync.Need, Leases.Keys.Count(i => i != sync.Instance) + 1);
        var lease = sync.Held + granted;
        if (lease > 0)
        {
            Leases[sync.Instance] = (lease, sync.LeaseUntil);
        }
        else
        {
            Leases.Remove(sync.Instance);
        }

        DateTimeOffset? othersFreeAt = null;
        foreach (var (instance, (amount, until)) in Leases)
        {
            if (instance != sync.Instance && amount > 0 && (othersFreeAt is null || until < othersFreeAt))
            {
                othersFreeAt = until;
            }
        }

        return new CounterGrant(granted, Used, others, othersFreeAt);
    }
}

/// <summary>Counters in this process's memory: for unit tests and the microbenchmark, never for more than one instance.</summary>
internal sealed class InMemoryCounterStore : ICounterStore
{
    private readonly Dictionary<(string, string), CounterState> _counters = [];

    public int Syncs { get; private set; }

    public ValueTask<CounterGrant> SyncAsync(CounterSync sync, CancellationToken cancellationToken)
    {
        lock (_counters)
        {
            Syncs++;
            if (!_counters.TryGetValue((sync.KeyId, sync.Counter), out var state))
            {
                _counters[(sync.KeyId, sync.Counter)] = state = new CounterState();
            }

            return new ValueTask<CounterGrant>(state.Apply(sync));
        }
    }

    public ValueTask<CounterReading?> ReadAsync(string keyId, string counter, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_counters)
        {
            return new ValueTask<CounterReading?>(_counters.TryGetValue((keyId, counter), out var state)
                ? new CounterReading(state.Used, state.ActiveLeases(now))
                : null);
        }
    }
}
