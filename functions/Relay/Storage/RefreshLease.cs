using Azure;

namespace Serverless.Relay.Storage;

/// <summary>A row guarded by a refresh lease, as read: its value (null when absent), its ETag and who holds the lease until when.</summary>
internal readonly record struct LeaseView<TRow>(TRow? Row, ETag? ETag, string? Owner, DateTimeOffset? Until);

/// <summary>Who takes leases, for how long, and how often a waiter looks again.</summary>
internal sealed record LeaseTerms(string Owner, TimeSpan Duration, TimeSpan PollInterval, TimeProvider Time)
{
    /// <summary>A lease owner unique per process, so a restarted instance never mistakes an old lease for its own.</summary>
    public static string NewOwner() => Environment.MachineName + "/" + Environment.ProcessId + "/" + Guid.NewGuid().ToString("N")[..8];
}

/// <summary>Whether the row as read already settles the call (fresh, or nothing to refresh), and with what.</summary>
internal delegate bool LeaseSettled<TRow, TResult>(LeaseView<TRow> view, DateTimeOffset now, out TResult result);

/// <summary>
/// The refresh-once-across-instances loop that OAuth token refreshes and the IM platforms' access tokens share: read the
/// row; if it is fresh, done; if another instance holds an unexpired lease, wait for its result; otherwise take the lease
/// with an ETag-conditional write (losing the race means reading again) and refresh under it. The refresher writes its
/// result and clears the lease in one conditional write of its own.
/// NOTE: a lease that outlives its holder (a crash) simply expires after <see cref="LeaseTerms.Duration"/>.
/// </summary>
internal static class RefreshLease
{
    /// <param name="read">Reads the row, its ETag and its lease columns.</param>
    /// <param name="settled">True when no refresh is needed (or none is possible), with the result to return.</param>
    /// <param name="take">Writes the lease (owner, until) conditional on the ETag read (or inserts when absent); the new ETag, or null when another writer won.</param>
    /// <param name="refresh">Refreshes under the lease taken (its ETag given) and releases it.</param>
    public static async Task<TResult> RunAsync<TRow, TResult>(
        LeaseTerms terms,
        Func<CancellationToken, Task<LeaseView<TRow>>> read,
        LeaseSettled<TRow, TResult> settled,
        Func<LeaseView<TRow>, DateTimeOffset, CancellationToken, Task<ETag?>> take,
        Func<LeaseView<TRow>, ETag, CancellationToken, Task<TResult>> refresh,
        CancellationToken cancellationToken)
    {
        while (true)
        {
            // 1. What storage holds now: another instance may have refreshed already.
            var view = await read(cancellationToken).ConfigureAwait(false);
            var now = terms.Time.GetUtcNow();
            if (settled(view, now, out var result))
            {
                return result;
            }

            // 2. Someone else is refreshing: wait for their result rather than racing them.
            if (view.Until is { } until && until > now && view.Owner != terms.Owner)
            {
                await Task.Delay(terms.PollInterval, terms.Time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // 3. Take the lease; losing the race to another instance means going back to step 1.
            if (await take(view, now + terms.Duration, cancellationToken).ConfigureAwait(false) is not { } leased)
            {
                continue;
            }

            // 4. Refresh; the callee writes the result and releases the lease in one conditional write.
            return await refresh(view, leased, cancellationToken).ConfigureAwait(false);
        }
    }
}
