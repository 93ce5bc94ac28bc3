using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Sessions;

/// <summary>A request's session: its key, and the account it is bound to (null when new or expired).</summary>
internal sealed record SessionBinding(string Key, string? AccountId);

/// <summary>
/// Sticky sessions: session key → account, in the <c>{prefix}sessions</c> table (PK = the key's first two hex digits,
/// RK = the key; AccountId, ExpiresAt) so every instance honours them, with a sliding TTL. Each instance keeps what it
/// read or wrote for <see cref="SessionOptions.LocalCacheTtl"/>, and reads a session in use again in the background
/// before that runs out (<see cref="RefreshAhead"/>). Writes go in the background: a binding never holds up
/// an answer, and a lost write only costs one cache miss upstream. When storage fails or is slow, the request goes on
/// without a binding (issue 8): stickiness is an optimisation, never a reason to fail a request.
/// </summary>
internal sealed partial class SessionBindings(RelayTables tables, HotPathStorage hotPath, IOptions<SessionOptions> options, TimeProvider time, ILogger<SessionBindings> logger)
{
    private const int MaxCached = 50_000;

    private readonly ConcurrentDictionary<string, Cached> _cache = new(StringComparer.Ordinal);
    private readonly SharedReads<string, SessionBinding?> _reads = new(StringComparer.Ordinal);
    private readonly SessionOptions _options = options.Value;

    public bool Enabled => _options.Enabled;

    /// <summary>
    /// The session of <paramref name="key"/> with the account it is bound to, if any. Reads storage only on a local
    /// cache miss, within the hot-path deadline. Null when storage cannot tell: the request is scheduled as if the
    /// session were unknown and no binding is written for it (the write would fail too, once per request).
    /// </summary>
    public ValueTask<SessionBinding?> ResolveAsync(string key, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && now < cached.FreshUntil)
        {
            // A session in use is read again before its entry goes stale, one read per entry at a time.
            if (cached.Refresh.TryStart(now.UtcTicks, RefreshAhead.Due(cached.FreshUntil.UtcTicks, _options.LocalCacheTtl.Ticks)))
            {
                _ = cached.Refresh.RunAsync(() => ReadThroughAsync(key, cached, CancellationToken.None), e => Log.RefreshFailed(logger, e));
            }

            return new ValueTask<SessionBinding?>(new SessionBinding(key, cached.AccountId));
        }

        // Requests of one session that miss together share its read (SharedReads says why).
        return new ValueTask<SessionBinding?>(_reads.ReadAsync(key, k => ReadThroughAsync(k, seen: null, CancellationToken.None), cancellationToken));
    }

    /// <param name="seen">For a refresh ahead: the entry it renews, replaced only if nothing (a <see cref="Bind"/>) replaced it meanwhile.</param>
    private async Task<SessionBinding?> ReadThroughAsync(string key, Cached? seen, CancellationToken cancellationToken)
    {
        var read = await hotPath.ReadAsync("a session binding", ct => ReadAsync(key, ct), cancellationToken).ConfigureAwait(false);
        if (read.Failed)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var entity = read.Value;
        string? accountId = null;
        if (entity is not null && entity.GetDateTimeOffset("ExpiresAt") is { } expiresAt && now < expiresAt)
        {
            accountId = entity.GetString("AccountId");

            // Slide the TTL, but write at most once per tenth of it.
            if (expiresAt - now < _options.Ttl - _options.Ttl / 10)
            {
                Write(key, accountId!, now);
            }
        }

        if (seen is { } renewed)
        {
            _cache.TryUpdate(key, new Cached(accountId, now + _options.LocalCacheTtl), renewed);
        }
        else
        {
            Remember(key, accountId, now);
        }

        return new SessionBinding(key, accountId);
    }

    private async Task<TableEntity?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Sessions, cancellationToken).ConfigureAwait(false);
        var entity = await table.GetEntityIfExistsAsync<TableEntity>(PartitionOf(key), key, cancellationToken: cancellationToken).ConfigureAwait(false);
        return entity.HasValue ? entity.Value : null;
    }

    /// <summary>Binds (or moves) the session to the account that served it.</summary>
    public void Bind(SessionBinding binding, string accountId)
    {
        if (string.Equals(binding.AccountId, accountId, StringComparison.Ordinal))
        {
            return;
        }

        var now = time.GetUtcNow();
        if (binding.AccountId is not null)
        {
            Log.Moved(logger, binding.AccountId, accountId);
        }

        Remember(binding.Key, accountId, now);
        Write(binding.Key, accountId, now);
    }

    /// <summary>
    /// Writes in the background; failures are logged, never thrown. Skipped while storage is known to be down: the
    /// outage is already logged once, and a write per request would only pile up failing calls.
    /// </summary>
    private void Write(string key, string accountId, DateTimeOffset now)
    {
        if (!hotPath.IsDown)
        {
            _ = WriteAsync(key, accountId, now);
        }
    }

    internal async Task WriteAsync(string key, string accountId, DateTimeOffset now)
    {
        try
        {
            var table = await tables.GetAsync(RelayTables.Sessions, CancellationToken.None).ConfigureAwait(false);
            var entity = new TableEntity(PartitionOf(key), key) { ["AccountId"] = accountId, ["ExpiresAt"] = now + _options.Ttl };
            await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException or HttpRequestException or IOException or OperationCanceledException)
        {
            Log.WriteFailed(logger, e);
        }
    }

    private void Remember(string key, string? accountId, DateTimeOffset now)
    {
        if (_cache.Count >= MaxCached)
        {
            // NOTE: crude but bounded: the cache only saves reads, storage holds the truth.
            _cache.Clear();
        }

        _cache[key] = new Cached(accountId, now + _options.LocalCacheTtl);
    }

    private static string PartitionOf(string key) => key[..2];

    private readonly record struct Cached(string? AccountId, DateTimeOffset FreshUntil)
    {
        /// <summary>Each entry's own: equality includes it, so a refresh replaces only the very entry it renews.</summary>
        public RefreshAhead Refresh { get; } = new();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1613, Level = LogLevel.Warning, Message = "Refreshing a session binding ahead of its expiry failed")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1610, Level = LogLevel.Information, Message = "Session moved from account {From} to {To}")]
        public static partial void Moved(ILogger logger, string from, string to);

        [LoggerMessage(EventId = 1611, Level = LogLevel.Warning, Message = "Writing a session binding failed")]
        public static partial void WriteFailed(ILogger logger, Exception exception);
    }
}
