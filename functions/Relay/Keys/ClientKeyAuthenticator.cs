using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Keys;

/// <summary>
/// Resolves presented keys through a small in-memory cache keyed by the key's hash: found keys for 5 s, unknown ones
/// for 2 s (a client retrying with a bad key costs one read per 2 s, not one per request). Admin changes made through
/// this instance call <see cref="Invalidate"/>; other instances see them within the TTL.
/// Storage reads run under the hot-path deadline (<see cref="HotPathStorage"/>). When storage fails or is slow, a key
/// found earlier is served past its TTL (stale-if-error, issue 8): an outage must not lock out every known client.
/// A key this instance has never found cannot be decided then: <see cref="KeyLookup.Unavailable"/>.
/// </summary>
internal sealed partial class ClientKeyAuthenticator : IClientKeyAuthenticator
{
    public static readonly TimeSpan PositiveTtl = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan NegativeTtl = TimeSpan.FromSeconds(2);
    public const int MaxEntries = 10_000;

    private readonly ClientKeyStore _store;
    private readonly HotPathStorage _hotPath;
    private readonly TimeProvider _time;
    private readonly ILogger<ClientKeyAuthenticator> _logger;
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);
    private readonly SharedReads<(string Hash, long Generation), KeyLookup> _reads = new();
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly long _positiveTicks;
    private readonly long _negativeTicks;
    private int _count;

    // Bumped by every invalidation. A lookup that started before one must not cache what it read: it may be the old state.
    private long _generation;

    public ClientKeyAuthenticator(ClientKeyStore store, HotPathStorage hotPath, TimeProvider time, ILogger<ClientKeyAuthenticator> logger)
    {
        _store = store;
        _hotPath = hotPath;
        _time = time;
        _logger = logger;
        _bySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        _positiveTicks = (long)(PositiveTtl.TotalSeconds * time.TimestampFrequency);
        _negativeTicks = (long)(NegativeTtl.TotalSeconds * time.TimestampFrequency);
    }

    public ValueTask<ClientKey?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken)
    {
        var lookup = LookupAsync(presentedKey, cancellationToken);
        return lookup.IsCompletedSuccessfully ? new ValueTask<ClientKey?>(lookup.Result.Key) : AwaitKeyAsync(lookup);

        static async ValueTask<ClientKey?> AwaitKeyAsync(ValueTask<KeyLookup> lookup) => (await lookup.ConfigureAwait(false)).Key;
    }

    public ValueTask<KeyLookup> LookupAsync(string presentedKey, CancellationToken cancellationToken)
    {
        if (!ClientKeySecret.IsWellFormed(presentedKey))
        {
            return new ValueTask<KeyLookup>(KeyLookup.Unknown);
        }

        // Hot path: hash into the stack, look up by span; no string, no Task.
        Span<char> hash = stackalloc char[ClientKeySecret.HashHexLength];
        ClientKeySecret.Hash(presentedKey, hash);
        var now = _time.GetTimestamp();
        var found = _bySpan.TryGetValue(hash, out var entry);
        if (found && now < entry!.ExpiresAt)
        {
            if (entry.Key is not null && entry.Refresh.TryStart(now, RefreshAhead.Due(entry.ExpiresAt, _positiveTicks)))
            {
                var known = new string(hash);
                _ = entry.Refresh.RunAsync(() => LoadAsync(known, entry.Key, CancellationToken.None), e => Log.RefreshFailed(_logger, e));
            }

            return new ValueTask<KeyLookup>(new KeyLookup(entry.Key, false));
        }

        // Requests with one key that miss together share its read (SharedReads says why); not across an invalidation,
        // whose point is that the next lookup reads again.
        var stale = found ? entry!.Key : null;
        return new ValueTask<KeyLookup>(_reads.ReadAsync((new string(hash), Interlocked.Read(ref _generation)), read => LoadAsync(read.Hash, stale, CancellationToken.None), cancellationToken));
    }

    public ClientKey? FindCached(string presentedKey)
    {
        if (!ClientKeySecret.IsWellFormed(presentedKey))
        {
            return null;
        }

        Span<char> hash = stackalloc char[ClientKeySecret.HashHexLength];
        ClientKeySecret.Hash(presentedKey, hash);
        return _bySpan.TryGetValue(hash, out var entry) && _time.GetTimestamp() < entry.ExpiresAt ? entry.Key : null;
    }

    /// <summary>
    /// Forgets every cached entry of the key with this id (after an admin change), at once, and every cached "unknown":
    /// a key created on this instance works here at once, even if its secret was presented before it existed.
    /// </summary>
    public void Invalidate(string keyId)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (hash, entry) in _cache)
        {
            if ((entry.Key is null || entry.Key.Id == keyId) && _cache.TryRemove(new KeyValuePair<string, Entry>(hash, entry)))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    /// <param name="stale">The record found earlier whose entry has expired, served if storage cannot answer now.</param>
    private async Task<KeyLookup> LoadAsync(string hash, ClientKey? stale, CancellationToken cancellationToken)
    {
        var generation = Interlocked.Read(ref _generation);
        var read = await _hotPath.ReadAsync("a relay key", ct => _store.FindByHashAsync(hash, ct), cancellationToken, decisive: stale is null).ConfigureAwait(false);
        if (read.Failed)
        {
            // NOTE: nothing is cached here. The next request asks again, and HotPathStorage answers at once while
            // the outage lasts, so serving stale costs nothing per request and ends when storage is back.
            return stale is not null ? new KeyLookup(stale, false) : KeyLookup.Unavailable;
        }

        var key = read.Value;
        if (key is null)
        {
            Log.UnknownKey(_logger);
        }

        if (Interlocked.Read(ref _generation) == generation)
        {
            Store(hash, new Entry(key, _time.GetTimestamp() + (key is null ? _negativeTicks : _positiveTicks)));
        }

        return new KeyLookup(key, false);
    }

    private void Store(string hash, Entry entry)
    {
        if (Volatile.Read(ref _count) >= MaxEntries)
        {
            Trim();
        }

        if (_cache.TryAdd(hash, entry))
        {
            Interlocked.Increment(ref _count);
        }
        else
        {
            _cache[hash] = entry;
        }
    }

    /// <summary>
    /// Drops expired "unknown" entries first (a flood of made-up keys), then expired records (kept until now to be
    /// served during an outage), and if that is not enough, everything. Only on misses.
    /// </summary>
    private void Trim()
    {
        var now = _time.GetTimestamp();
        foreach (var dropRecords in new[] { false, true })
        {
            foreach (var (hash, entry) in _cache)
            {
                if (entry.ExpiresAt <= now && (dropRecords || entry.Key is null) && _cache.TryRemove(new KeyValuePair<string, Entry>(hash, entry)))
                {
                    Interlocked.Decrement(ref _count);
                }
            }

            if (Volatile.Read(ref _count) < MaxEntries)
            {
                return;
            }
        }

        _cache.Clear();
        Volatile.Write(ref _count, 0);
        Log.CacheCleared(_logger, MaxEntries);
    }

    private sealed record Entry(ClientKey? Key, long ExpiresAt)
    {
        /// <summary>A key in use is read again before the entry expires; no request waits for it.</summary>
        public RefreshAhead Refresh { get; } = new();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "A presented relay key is unknown")]
        public static partial void UnknownKey(ILogger logger);

        [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Refreshing a cached relay key failed; the cached record stays until it expires")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Key cache reached {MaxEntries} entries and was cleared")]
        public static partial void CacheCleared(ILogger logger, int maxEntries);
    }
}
