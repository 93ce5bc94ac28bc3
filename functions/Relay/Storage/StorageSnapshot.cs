using Microsoft.Extensions.Logging;

namespace Serverless.Relay.Storage;

/// <summary>
/// What the request path makes of a whole table (the accounts, the model groups), read once and shared by every
/// request: held for a time to live, read again in the background while in use before it expires
/// (<see cref="RefreshAhead"/>), and otherwise read by one load that every caller after expiry shares. Admin changes on
/// this instance call <see cref="Invalidate"/>.
/// </summary>
/// <remarks>
/// When a refresh fails or is slow and an older snapshot exists, that one is served: a caller waits for the refresh at
/// most the hot-path deadline, and the stale snapshot is then trusted for the outage back-off before the next attempt.
/// So an outage costs neither every request a wait nor every request a log line: one line per failed refresh, however
/// many requests were waiting for it (a thousand at once logged a thousand warnings with their stack traces before,
/// bench/ANALYSIS.md, "Snapshots of a table").
/// </remarks>
/// <param name="what">What is read, for the log (<c>the account directory</c>).</param>
/// <param name="ttl">How long a snapshot is served before it is read again.</param>
/// <param name="read">Reads the table and makes the value; called with no caller's token (the load is shared).</param>
/// <param name="logger">The owner's logger, so the lines keep its category.</param>
internal sealed partial class StorageSnapshot<T>(string what, TimeSpan ttl, Func<CancellationToken, Task<T>> read, HotPathStorage hotPath, TimeProvider time, ILogger logger)
    where T : class
{
    private readonly Lock _lock = new();
    private readonly RefreshAhead _ahead = new();
    private Snapshot? _snapshot;
    private Task<Snapshot>? _refresh;
    private long _generation;

    /// <summary>The snapshot in memory, whatever its age, without any I/O; null before the first read.</summary>
    public T? Cached => Volatile.Read(ref _snapshot)?.Value;

    /// <summary>The snapshot; synchronous while it is fresh.</summary>
    public ValueTask<T> GetAsync(CancellationToken cancellationToken)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        var now = time.GetTimestamp();
        if (snapshot is not null && now < snapshot.ExpiresAt)
        {
            if (_ahead.TryStart(now, snapshot.RefreshDue))
            {
                _ = _ahead.RunAsync(() => SharedLoad(), e => RefreshAheadFailed(snapshot, e));
            }

            return new ValueTask<T>(snapshot.Value);
        }

        return new ValueTask<T>(RefreshAsync(cancellationToken));
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

    private async Task<T> RefreshAsync(CancellationToken cancellationToken)
    {
        Task<Snapshot> refresh;
        Snapshot? stale;
        lock (_lock)
        {
            stale = _snapshot;
            if (stale is not null && time.GetTimestamp() < stale.ExpiresAt)
            {
                return stale.Value;
            }

            refresh = SharedLoad();
        }

        if (stale is null)
        {
            return (await refresh.WaitAsync(cancellationToken).ConfigureAwait(false)).Value;
        }

        try
        {
            return (await refresh.WaitAsync(hotPath.Timeout, time, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // NOTE: every caller waiting for this refresh lands here; only the one that puts the snapshot it found expired
            // back in force logs. (Each took that snapshot before waiting: read now, it would be the one the first
            // caller put back, and every caller would log.)
            if (ServeStale(stale))
            {
                Log.RefreshFailedServingStale(logger, what, e);
            }

            return stale.Value;
        }
    }

    /// <summary>Trusts <paramref name="stale"/> for the outage back-off, unless something replaced it meanwhile.</summary>
    /// <returns>True for the one caller that did.</returns>
    private bool ServeStale(Snapshot stale)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_snapshot, stale))
            {
                return false;
            }

            _snapshot = stale with { ExpiresAt = time.GetTimestamp() + (long)(hotPath.OutageBackoff.TotalSeconds * time.TimestampFrequency), RefreshDue = long.MaxValue };
            return true;
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
        Log.RefreshAheadFailed(logger, what, exception);
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
        var value = await read(CancellationToken.None).ConfigureAwait(false);
        var life = (long)(ttl.TotalSeconds * time.TimestampFrequency);
        var expiresAt = time.GetTimestamp() + life;
        var snapshot = new Snapshot(value, expiresAt, RefreshAhead.Due(expiresAt, life));
        lock (_lock)
        {
            // An invalidation during the load means what we read may predate the change: hand it to the waiting
            // callers, but do not keep it.
            if (_generation == generation)
            {
                _snapshot = snapshot;
            }
        }

        return snapshot;
    }

    private sealed record Snapshot(T Value, long ExpiresAt, long RefreshDue);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Refreshing {What} ahead of its expiry failed; the snapshot stays until it expires")]
        public static partial void RefreshAheadFailed(ILogger logger, string what, Exception exception);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Refreshing {What} failed; serving the previous snapshot")]
        public static partial void RefreshFailedServingStale(ILogger logger, string what, Exception exception);
    }
}
