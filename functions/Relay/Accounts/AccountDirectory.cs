using Microsoft.Extensions.Logging;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Accounts;

/// <summary>
/// A snapshot of every account with keys decrypted, refreshed at most every 5 s. Concurrent callers after expiry share
/// one refresh; admin changes on this instance call <see cref="Invalidate"/>. If a refresh fails and an older snapshot
/// exists, that one is served (storage blips must not take every request down) and the failure logged; a request
/// waits for a refresh at most the hot-path deadline then, and the stale snapshot is trusted for the outage back-off
/// before the next attempt, so an outage costs neither every request a wait nor every request a log line. A snapshot
/// in use is read again in the background before it expires (<see cref="RefreshAhead"/>), so requests do not wait for
/// the refresh at all while the instance is busy.
/// </summary>
internal sealed partial class AccountDirectory(AccountStore store, HotPathStorage hotPath, TimeProvider time, ILogger<AccountDirectory> logger) : IAccountDirectory
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private Snapshot? _snapshot;
    private Task<Snapshot>? _refresh;
    private long _generation;
    private readonly RefreshAhead _ahead = new();

    public ValueTask<IReadOnlyList<UpstreamAccount>> GetAllAsync(CancellationToken cancellationToken)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        var now = time.GetTimestamp();
        if (snapshot is not null && now < snapshot.ExpiresAt)
        {
            if (_ahead.TryStart(now, snapshot.RefreshDue))
            {
                _ = _ahead.RunAsync(() => SharedLoad(), e => RefreshAheadFailed(snapshot, e));
            }

            return new ValueTask<IReadOnlyList<UpstreamAccount>>(snapshot.Accounts);
        }

        return new ValueTask<IReadOnlyList<UpstreamAccount>>(RefreshAsync(cancellationToken));
    }

    /// <summary>The next call reads storage again; a refresh already under way is not reused.</summary>
    public void Invalidate()
    {
        lock (_lock)
        {
            _generation++;
            _refresh = null;
            if (_snapshot is not null)
            {
                _snapshot = _snapshot with { ExpiresAt = long.MinValue };
            }
        }
    }

    private async Task<IReadOnlyList<UpstreamAccount>> RefreshAsync(CancellationToken cancellationToken)
    {
        Task<Snapshot> refresh;
        lock (_lock)
        {
            if (_snapshot is not null && time.GetTimestamp() < _snapshot.ExpiresAt)
            {
                return _snapshot.Accounts;
            }

            refresh = SharedLoad();
        }

        try
        {
            return Volatile.Read(ref _snapshot) is null
                ? (await refresh.WaitAsync(cancellationToken)).Accounts
                : (await refresh.WaitAsync(hotPath.Timeout, time, cancellationToken)).Accounts;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && Volatile.Read(ref _snapshot) is { } stale)
        {
            Log.RefreshFailedServingStale(logger, e);
            lock (_lock)
            {
                if (ReferenceEquals(_snapshot, stale))
                {
                    _snapshot = stale with { ExpiresAt = time.GetTimestamp() + (long)(hotPath.OutageBackoff.TotalSeconds * time.TimestampFrequency), RefreshDue = long.MaxValue };
                }
            }

            return stale.Accounts;
        }
    }

    /// <summary>The load under way, or a new one: callers after expiry and a refresh ahead all share it.</summary>
    private Task<Snapshot> SharedLoad()
    {
        lock (_lock)
        {
            if (_refresh is { IsCompleted: true })
            {
                _refresh = null;
            }

            // NOTE: the shared load runs without any caller's token: one client going away must not fail the others.
            return _refresh ??= LoadAsync(_generation);
        }
    }

    /// <summary>Not again for this snapshot: it expires as usual, and the request then waits (within the hot-path deadline).</summary>
    private void RefreshAheadFailed(Snapshot current, Exception exception)
    {
        Log.RefreshAheadFailed(logger, exception);
        lock (_lock)
        {
            if (ReferenceEquals(_snapshot, current))
            {
                _snapshot = current with { RefreshDue = long.MaxValue };
            }
        }
    }

    private async Task<Snapshot> LoadAsync(long generation)
    {
        await Task.Yield(); // leave the caller's lock before any I/O
        var rows = await store.ListAsync(CancellationToken.None);
        var accounts = new List<UpstreamAccount>(rows.Count);
        foreach (var row in rows)
        {
            var account = row.Account;
            if (row.ProtectedApiKey is not null)
            {
                if (!store.TryUnprotectApiKey(account.Id, row.ProtectedApiKey, out var apiKey, out var error))
                {
                    // One unreadable secret (a removed kid, a tampered row) skips that account, not the directory.
                    Log.SecretUnreadable(logger, account.Id, error);
                    continue;
                }

                account = account with { ApiKey = apiKey };
            }

            accounts.Add(account);
        }

        accounts.Sort((a, b) => b.Priority != a.Priority ? b.Priority.CompareTo(a.Priority) : string.CompareOrdinal(a.Id, b.Id));
        var ttl = (long)(Ttl.TotalSeconds * time.TimestampFrequency);
        var expiresAt = time.GetTimestamp() + ttl;
        var snapshot = new Snapshot(accounts, expiresAt, RefreshAhead.Due(expiresAt, ttl));
        lock (_lock)
        {
            // An invalidation during the load means what we read may predate the change: hand it to the waiting
            // callers, but do not keep it.
            if (_generation == generation)
            {
                _snapshot = snapshot;
            }
        }

        Log.Refreshed(logger, accounts.Count);
        return snapshot;
    }

    private sealed record Snapshot(IReadOnlyList<UpstreamAccount> Accounts, long ExpiresAt, long RefreshDue = long.MaxValue);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1200, Level = LogLevel.Debug, Message = "Account directory refreshed: {Count} accounts")]
        public static partial void Refreshed(ILogger logger, int count);

        [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "The API key of account {AccountId} cannot be decrypted ({Reason}); the account is skipped")]
        public static partial void SecretUnreadable(ILogger logger, string accountId, SecretError reason);

        [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Refreshing the account directory ahead of its expiry failed; the snapshot stays until it expires")]
        public static partial void RefreshAheadFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Account directory refresh failed; serving the previous snapshot")]
        public static partial void RefreshFailedServingStale(ILogger logger, Exception exception);
    }
}
