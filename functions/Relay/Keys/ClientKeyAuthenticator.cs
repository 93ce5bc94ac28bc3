using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Serverless.Relay.Keys;

/// <summary>
/// Resolves presented keys through a small in-memory cache keyed by the key's hash: found keys for 5 s, unknown ones
/// for 2 s (a client retrying with a bad key costs one read per 2 s, not one per request). Admin changes made through
/// this instance call <see cref="Invalidate"/>; other instances see them within the TTL.
/// </summary>
internal sealed partial class ClientKeyAuthenticator : IClientKeyAuthenticator
{
    public static readonly TimeSpan PositiveTtl = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan NegativeTtl = TimeSpan.FromSeconds(2);
    public const int MaxEntries = 10_000;

    private readonly ClientKeyStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<ClientKeyAuthenticator> _logger;
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly long _positiveTicks;
    private readonly long _negativeTicks;
    private int _count;

    // Bumped by every invalidation. A lookup that started before one must not cache what it read: it may be the old state.
    private long _generation;

    public ClientKeyAuthenticator(ClientKeyStore store, TimeProvider time, ILogger<ClientKeyAuthenticator> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
        _bySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        _positiveTicks = (long)(PositiveTtl.TotalSeconds * time.TimestampFrequency);
        _negativeTicks = (long)(NegativeTtl.TotalSeconds * time.TimestampFrequency);
    }

    public ValueTask<ClientKey?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken)
    {
        if (!ClientKeySecret.IsWellFormed(presentedKey))
        {
            return new ValueTask<ClientKey?>((ClientKey?)null);
        }

        // Hot path: hash into the stack, look up by span; no string, no Task.
        Span<char> hash = stackalloc char[ClientKeySecret.HashHexLength];
        ClientKeySecret.Hash(presentedKey, hash);
        var now = _time.GetTimestamp();
        if (_bySpan.TryGetValue(hash, out var entry) && now < entry.ExpiresAt)
        {
            return new ValueTask<ClientKey?>(entry.Key);
        }

        return new ValueTask<ClientKey?>(LoadAsync(new string(hash), cancellationToken));
    }

    /// <summary>Forgets every cached entry of the key with this id (after an admin change), at once.</summary>
    public void Invalidate(string keyId)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (hash, entry) in _cache)
        {
            if (entry.Key?.Id == keyId && _cache.TryRemove(new KeyValuePair<string, Entry>(hash, entry)))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    private async Task<ClientKey?> LoadAsync(string hash, CancellationToken cancellationToken)
    {
        var generation = Interlocked.Read(ref _generation);
        var key = await _store.FindByHashAsync(hash, cancellationToken);
        if (key is null)
        {
            Log.UnknownKey(_logger);
        }

        if (Interlocked.Read(ref _generation) == generation)
        {
            Store(hash, new Entry(key, _time.GetTimestamp() + (key is null ? _negativeTicks : _positiveTicks)));
        }

        return key;
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

    /// <summary>Drops expired entries; if that is not enough (a flood of distinct keys), everything. Only on misses.</summary>
    private void Trim()
    {
        var now = _time.GetTimestamp();
        foreach (var (hash, entry) in _cache)
        {
            if (entry.ExpiresAt <= now && _cache.TryRemove(new KeyValuePair<string, Entry>(hash, entry)))
            {
                Interlocked.Decrement(ref _count);
            }
        }

        if (Volatile.Read(ref _count) >= MaxEntries)
        {
            _cache.Clear();
            Volatile.Write(ref _count, 0);
            Log.CacheCleared(_logger, MaxEntries);
        }
    }

    private sealed record Entry(ClientKey? Key, long ExpiresAt);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "A presented relay key is unknown")]
        public static partial void UnknownKey(ILogger logger);

        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Key cache reached {MaxEntries} entries and was cleared")]
        public static partial void CacheCleared(ILogger logger, int maxEntries);
    }
}
