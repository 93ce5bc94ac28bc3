using System.Collections.Concurrent;
using Serverless.Relay.Accounts;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Picks the accounts that may serve a model: enabled accounts whose patterns match, highest priority first,
/// round-robin among equals. (Health, stickiness and failover build on this order.)
/// </summary>
internal sealed class AccountRouter(IAccountDirectory directory)
{
    private readonly ConcurrentDictionary<string, StrongBox> _turns = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The candidates in the order to try them; empty when nothing serves <paramref name="model"/>.</summary>
    public async ValueTask<IReadOnlyList<UpstreamAccount>> CandidatesAsync(string model, CancellationToken cancellationToken)
    {
        var accounts = await directory.GetAllAsync(cancellationToken).ConfigureAwait(false);
        List<UpstreamAccount>? matching = null;
        foreach (var account in accounts)
        {
            if (account.Enabled && account.Serves(model))
            {
                (matching ??= []).Add(account);
            }
        }

        if (matching is null)
        {
            return [];
        }

        // Stable order first (priority, then id) so the rotation below is the same on every call.
        matching.Sort(static (a, b) => a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority) : string.CompareOrdinal(a.Id, b.Id));
        var topTier = 1;
        while (topTier < matching.Count && matching[topTier].Priority == matching[0].Priority)
        {
            topTier++;
        }

        if (topTier > 1)
        {
            var turn = Interlocked.Increment(ref _turns.GetOrAdd(model, static _ => new StrongBox()).Value);
            var shift = (int)((uint)turn % (uint)topTier);
            matching.Reverse(0, shift);
            matching.Reverse(shift, topTier - shift);
            matching.Reverse(0, topTier);
        }

        return matching;
    }

    private sealed class StrongBox
    {
        public int Value;
    }
}
