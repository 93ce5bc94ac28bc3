using System.Collections.Concurrent;
using System.Globalization;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Accounts;

/// <summary>One way to serve a request: an account and the model name to send it.</summary>
internal sealed record Candidate(UpstreamAccount Account, string UpstreamModel);

/// <summary>An account that matched but cannot take a request now, and why.</summary>
internal sealed record UnavailableAccount(UpstreamAccount Account, AccountStatus Status, DateTimeOffset? Until, bool AtCap);

/// <summary>The scheduler's answer: the candidates to try, in order, and what matched but was left out.</summary>
/// <param name="Matched">How many enabled accounts serve the model at all, available or not.</param>
internal sealed record SchedulePlan(IReadOnlyList<Candidate> Candidates, int Matched, IReadOnlyList<UnavailableAccount> Unavailable)
{
    public static readonly SchedulePlan Empty = new([], 0, []);

    /// <summary>The 503 for "accounts match but none can take the request now"; retry-after is the earliest mark to lapse.</summary>
    public RelayError NothingAvailable(string model)
    {
        DateTimeOffset? earliest = null;
        var reasons = new List<string>(Unavailable.Count);
        foreach (var item in Unavailable)
        {
            reasons.Add(item.AtCap
                ? $"'{item.Account.Name}' is at its concurrency cap"
                : item.Until is { } until
                    ? $"'{item.Account.Name}' is {Describe(item.Status)} until {until.ToString("O", CultureInfo.InvariantCulture)}"
                    : $"'{item.Account.Name}' is {Describe(item.Status)}");
            if (item.Until is { } u && item.Status is AccountStatus.CoolingDown or AccountStatus.CircuitOpen && (earliest is null || u < earliest))
            {
                earliest = u;
            }
        }

        var message = $"No upstream account can serve '{model}' right now: {string.Join("; ", reasons)}.";
        return new RelayError(ErrorKind.Unavailable, message)
        {
            RetryAfter = earliest is { } e ? TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling((e - DateTimeOffset.UtcNow).TotalSeconds))) : null,
        };
    }

    /// <summary>The plan cut to the accounts <paramref name="keep"/> accepts, available or not, in the same order.</summary>
    public SchedulePlan Where(Func<UpstreamAccount, bool> keep)
    {
        var candidates = Candidates.Where(c => keep(c.Account)).ToArray();
        var unavailable = Unavailable.Where(u => keep(u.Account)).ToArray();
        return new SchedulePlan(candidates, candidates.Length + unavailable.Length, unavailable);
    }

    private static string Describe(AccountStatus status) => status switch
    {
        AccountStatus.CoolingDown => "cooling down",
        AccountStatus.CircuitOpen => "circuit-open",
        AccountStatus.HalfOpen => "half-open with its probe in flight",
        AccountStatus.Disabled => "disabled",
        _ => "available",
    };
}

/// <summary>
/// Orders the accounts that may serve a model: enabled, patterns match, not cooling down, not circuit-open, under
/// their concurrency cap. Highest priority tier first; inside a tier the fewest in-flight requests, then the higher
/// weight, then round-robin so equals share the load. A sticky session's account goes first while it is available.
/// Reads only memory: the account snapshot and <see cref="AccountHealth"/>.
/// </summary>
internal sealed class AccountScheduler(IAccountDirectory directory, AccountHealth health, IModelGroupDirectory groups)
{
    // NOTE: the rotation is kept per model or group name, and a model name is the client's (any key allowed a pattern
    // may vary it at will): capped, and cleared when full as the relay's other caches of client input are. A cleared
    // rotation only starts again.
    internal const int MaxTurns = 10_000;
    private readonly ConcurrentDictionary<string, StrongBox> _turns = new(StringComparer.OrdinalIgnoreCase);

    public async ValueTask<SchedulePlan> PlanAsync(string model, string? stickyAccountId, CancellationToken cancellationToken)
    {
        var accounts = await directory.GetAllAsync(cancellationToken).ConfigureAwait(false);
        var group = await groups.FindAsync(model, cancellationToken).ConfigureAwait(false);
        var plan = group is null ? PlanModel(model, accounts) : PlanGroup(group, accounts, depth: 0);
        return stickyAccountId is null ? plan : PreferSticky(plan, stickyAccountId);
    }

    private SchedulePlan PlanModel(string model, IReadOnlyList<UpstreamAccount> accounts)
    {
        List<Entry>? entries = null;
        foreach (var account in accounts)
        {
            if (account.Enabled && account.Serves(model))
            {
                (entries ??= []).Add(new Entry(new Candidate(account, account.UpstreamModelFor(model)), 0));
            }
        }

        return entries is null ? SchedulePlan.Empty : Order(model, entries, ModelGroupStrategy.Priority);
    }

    /// <summary>A model group: its targets in the group's strategy, then each fallback model's own plan, in order.</summary>
    private SchedulePlan PlanGroup(ModelGroup group, IReadOnlyList<UpstreamAccount> accounts, int depth)
    {
        var entries = new List<Entry>();
        for (var t = 0; t < group.Targets.Count; t++)
        {
            var target = group.Targets[t];
            foreach (var account in accounts)
            {
                if (account.Enabled && target.Matches(account))
                {
                    entries.Add(new Entry(new Candidate(account, account.UpstreamModelFor(target.UpstreamModel)), t));
                }
            }
        }

        var plan = entries.Count == 0 ? SchedulePlan.Empty : Order(group.Name, entries, group.Strategy);
        if (group.Fallback.Count == 0 || depth > 0)
        {
            return plan;
        }

        var candidates = new List<Candidate>(plan.Candidates);
        var unavailable = new List<UnavailableAccount>(plan.Unavailable);
        var matched = plan.Matched;
        foreach (var fallback in group.Fallback)
        {
            // NOTE: one level only: a fallback that is itself a group contributes its targets, not its own fallbacks,
            // so a cycle of groups cannot loop.
            var inner = groups.FindCached(fallback) is { } fallbackGroup ? PlanGroup(fallbackGroup, accounts, depth + 1) : PlanModel(fallback, accounts);
            foreach (var candidate in inner.Candidates)
            {
                if (!candidates.Exists(c => c.Account.Id == candidate.Account.Id && c.UpstreamModel == candidate.UpstreamModel))
                {
                    candidates.Add(candidate);
                }
            }

            unavailable.AddRange(inner.Unavailable);
            matched += inner.Matched;
        }

        return new SchedulePlan(candidates, matched, unavailable);
    }

    private SchedulePlan Order(string key, List<Entry> entries, ModelGroupStrategy strategy)
    {
        var available = new List<Ranked>(entries.Count);
        List<UnavailableAccount>? unavailable = null;
        foreach (var entry in entries)
        {
            var account = entry.Candidate.Account;
            var status = health.StatusOf(account.Id, out var until);
            var inFlight = health.InFlight(account.Id);
            var atCap = account.MaxConcurrency is { } cap && inFlight >= cap;
            if (status is AccountStatus.Available or AccountStatus.HalfOpen && !atCap)
            {
                available.Add(new Ranked(entry, inFlight, 0));
            }
            else
            {
                (unavailable ??= []).Add(new UnavailableAccount(account, status, until, atCap));
            }
        }

        if (available.Count > 1)
        {
            // Stable order first, so the rotation below is the same on every call and every instance.
            available.Sort(static (a, b) => string.CompareOrdinal(a.Entry.Candidate.Account.Id, b.Entry.Candidate.Account.Id));
            var turn = (uint)Interlocked.Increment(ref TurnOf(key).Value);
            for (var i = 0; i < available.Count; i++)
            {
                available[i] = available[i] with { Rotation = (int)((i + turn) % (uint)available.Count) };
            }

            if (strategy == ModelGroupStrategy.Weighted)
            {
                WeightedShuffle(available);
            }
            else
            {
                available.Sort(strategy == ModelGroupStrategy.LeastBusy ? CompareLeastBusy : ComparePriority);
            }
        }

        var candidates = new Candidate[available.Count];
        for (var i = 0; i < candidates.Length; i++)
        {
            candidates[i] = available[i].Entry.Candidate;
        }

        return new SchedulePlan(candidates, entries.Count, (IReadOnlyList<UnavailableAccount>?)unavailable ?? []);
    }

    /// <summary>Rotations kept: for tests and diagnostics.</summary>
    internal int Rotations => _turns.Count;

    private StrongBox TurnOf(string key)
    {
        if (_turns.TryGetValue(key, out var turn))
        {
            return turn;
        }

        if (_turns.Count >= MaxTurns)
        {
            _turns.Clear();
        }

        return _turns.GetOrAdd(key, static _ => new StrongBox());
    }

    private static int ComparePriority(Ranked a, Ranked b)
    {
        var x = a.Entry.Candidate.Account;
        var y = b.Entry.Candidate.Account;
        if (a.Entry.Target != b.Entry.Target)
        {
            return a.Entry.Target.CompareTo(b.Entry.Target);
        }

        if (x.Priority != y.Priority)
        {
            return y.Priority.CompareTo(x.Priority);
        }

        return CompareLoad(a, b);
    }

    private static int CompareLeastBusy(Ranked a, Ranked b) => CompareLoad(a, b);

    private static int CompareLoad(Ranked a, Ranked b)
    {
        if (a.InFlight != b.InFlight)
        {
            return a.InFlight.CompareTo(b.InFlight);
        }

        var x = a.Entry.Candidate.Account;
        var y = b.Entry.Candidate.Account;
        return x.Weight != y.Weight ? y.Weight.CompareTo(x.Weight) : a.Rotation.CompareTo(b.Rotation);
    }

    /// <summary>Orders by weighted random choice without replacement: each account leads in proportion to its weight.</summary>
    private static void WeightedShuffle(List<Ranked> items)
    {
        for (var start = 0; start < items.Count - 1; start++)
        {
            long total = 0;
            for (var i = start; i < items.Count; i++)
            {
                total += Math.Max(1, items[i].Entry.Candidate.Account.Weight);
            }

            var pick = Random.Shared.NextInt64(total);
            for (var i = start; i < items.Count; i++)
            {
                pick -= Math.Max(1, items[i].Entry.Candidate.Account.Weight);
                if (pick < 0)
                {
                    (items[start], items[i]) = (items[i], items[start]);
                    break;
                }
            }
        }
    }

    private static SchedulePlan PreferSticky(SchedulePlan plan, string accountId)
    {
        var index = -1;
        for (var i = 0; i < plan.Candidates.Count; i++)
        {
            if (plan.Candidates[i].Account.Id == accountId)
            {
                index = i;
                break;
            }
        }

        if (index <= 0)
        {
            return plan;
        }

        var reordered = new List<Candidate>(plan.Candidates.Count) { plan.Candidates[index] };
        for (var i = 0; i < plan.Candidates.Count; i++)
        {
            if (i != index)
            {
                reordered.Add(plan.Candidates[i]);
            }
        }

        return plan with { Candidates = reordered };
    }

    private readonly record struct Entry(Candidate Candidate, int Target);

    private readonly record struct Ranked(Entry Entry, int InFlight, int Rotation);

    private sealed class StrongBox
    {
        public int Value;
    }
}
