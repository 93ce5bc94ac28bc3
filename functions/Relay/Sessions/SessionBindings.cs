using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Sessions;

/// <summary>A request's session: its key, and the account it is bound to (null when new, expired or not known here).</summary>
internal sealed record SessionBinding(string Key, string? AccountId);

/// <summary>
/// Sticky sessions: session key → account, in the <c>{prefix}sessions</c> table (PK = the key's first two hex digits,
/// RK = the key; AccountId, ExpiresAt) so every instance honours them, with a sliding TTL. Each instance serves the
/// bindings it read or wrote until they expire, and reads one again in the background of its session's requests from
/// the last fifth of <see cref="SessionOptions.LocalCacheTtl"/> on (<see cref="RefreshAhead"/>). Writes go in the
/// background: a binding never holds up an answer. When storage fails or is slow, the request goes on with what this
/// instance knows (issue 8): stickiness is an optimisation, never a reason to fail a request.
/// </summary>
/// <remarks>
/// NOTE: why a bound session never waits for storage. With many conversations at once and storage slower than the
/// refresh's head start (a fifth of the cache life), sessions in use outlived their entries while their refreshes were
/// out, and their next requests read the same rows again and waited; a conversation's next turn more than a cache life
/// after the last (the usual pace of people and agents) waited for a read every turn; and reads that missed the
/// hot-path deadline put storage in its back-off, after which every session read at once and missed it again. 1,000
/// sessions at c=256 on one instance: p90 0.15–0.24 s and p99 about 0.5 s, against 0.04 and 0.06–0.07 s with one
/// session (bench/ANALYSIS.md, "Several accounts, and many conversations at once"). Now a binding this instance holds
/// is served until it expires and read again behind the request, so a move made by another instance is followed from
/// the session's next request on; a refresh storage cannot answer keeps what was known for another cache life; a
/// session storage could not tell about is bound here, and a read that finds storage without a binding held here (a
/// write lost, or skipped while storage was down) writes it again.
/// </remarks>
internal sealed partial class SessionBindings(RelayTables tables, HotPathStorage hotPath, IOptions<SessionOptions> options, TimeProvider time, ILogger<SessionBindings> logger)
{
    private const int MaxCached = 50_000;

    /// <summary>
    /// Background writes out at once. Past it a binding is held here alive but not written: a session's next read that
    /// finds storage without it writes it then (<see cref="ReadThroughAsync"/>), as after an outage.
    /// </summary>
    internal const int MaxWritesOut = 256;

    private int _writesOut;
    private int _writesHeldBack;

    private readonly ConcurrentDictionary<string, Cached> _cache = new(StringComparer.Ordinal);
    private readonly SharedReads<string, SessionBinding> _reads = new(StringComparer.Ordinal);
    private readonly SessionOptions _options = options.Value;

    public bool Enabled => _options.Enabled;

    /// <summary>
    /// The session of <paramref name="key"/> with the account it is bound to, if any. A binding this instance holds
    /// (read or written, not expired) is served at once and read again in the background from the last fifth of its
    /// cache life on; storage is read on the request's path only for a session this instance holds no binding of,
    /// within the hot-path deadline, and when it cannot tell, the session goes on with what this instance knows.
    /// </summary>
    public ValueTask<SessionBinding> ResolveAsync(string key, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && (now < cached.FreshUntil || (cached.AccountId is not null && now < cached.ExpiresAt)))
        {
            if (cached.Refresh.TryStart(now.UtcTicks, RefreshAhead.Due(cached.FreshUntil.UtcTicks, _options.LocalCacheTtl.Ticks)))
            {
                _ = cached.Refresh.RunAsync(() => ReadThroughAsync(key, cached), e => Log.RefreshFailed(logger, e));
            }

            return new ValueTask<SessionBinding>(new SessionBinding(key, cached.AccountId));
        }

        // Requests of one session that miss together share its read (SharedReads says why). Nothing this instance
        // holds is alive here, so a failed read leaves the session unbound.
        return new ValueTask<SessionBinding>(_reads.ReadAsync(key, k => ReadThroughAsync(k, renewing: null), cancellationToken));
    }

    /// <param name="renewing">
    /// For a refresh in the background: the entry it renews, what the session keeps when storage cannot tell, replaced
    /// only if nothing (a <see cref="Bind"/>) replaced it meanwhile.
    /// </param>
    private async Task<SessionBinding> ReadThroughAsync(string key, Cached? renewing)
    {
        var read = await hotPath.ReadAsync("a session binding", ct => ReadAsync(key, ct), CancellationToken.None).ConfigureAwait(false);
        var now = time.GetUtcNow();

        // What this instance knows: the binding it last read or wrote, until that expires.
        string? accountId = null;
        var expiresAt = now;
        if (renewing is { AccountId: { } held } entry && now < entry.ExpiresAt)
        {
            accountId = held;
            expiresAt = entry.ExpiresAt;
        }

        if (!read.Failed)
        {
            if (read.Value is { } row && row.GetDateTimeOffset("ExpiresAt") is { } stored && now < stored)
            {
                accountId = row.GetString("AccountId");
                expiresAt = stored;

                // Slide the TTL, but write at most once per tenth of it.
                if (stored - now < _options.Ttl - _options.Ttl / 10)
                {
                    expiresAt = Write(key, accountId!, now);
                }
            }
            else if (accountId is not null)
            {
                // Storage lacks a binding this instance holds alive: its write was lost, or skipped while storage was down.
                expiresAt = Write(key, accountId, now);
            }
        }

        var fresh = new Cached(accountId, now + _options.LocalCacheTtl, expiresAt);
        if (renewing is not null)
        {
            _cache.TryUpdate(key, fresh, renewing.Value);
        }
        else
        {
            Remember(key, fresh);
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
    /// <remarks>
    /// NOTE: requests of one session that resolved together all carry what they found then (no binding, or the old
    /// one), so each would bind it again. Only the one whose entry goes into the cache writes: a burst of 1,000 first
    /// requests of a new session made 1,000 writes of one row at once, and the storage client opened a connection for
    /// each (bench/ANALYSIS.md, "A new session's burst of writes").
    /// </remarks>
    public void Bind(SessionBinding binding, string accountId)
    {
        if (string.Equals(binding.AccountId, accountId, StringComparison.Ordinal))
        {
            return;
        }

        var now = time.GetUtcNow();
        if (!Claim(binding.Key, new Cached(accountId, now + _options.LocalCacheTtl, now + _options.Ttl), now))
        {
            return;
        }

        if (binding.AccountId is not null)
        {
            Log.Moved(logger, binding.AccountId, accountId);
        }

        Write(binding.Key, accountId, now);
    }

    /// <summary>Puts the binding in the cache unless one to the same account is already alive there: true if it went in.</summary>
    private bool Claim(string key, Cached entry, DateTimeOffset now)
    {
        while (true)
        {
            if (_cache.TryGetValue(key, out var held))
            {
                if (string.Equals(held.AccountId, entry.AccountId, StringComparison.Ordinal) && now < held.ExpiresAt)
                {
                    return false;
                }

                if (_cache.TryUpdate(key, entry, held))
                {
                    return true;
                }
            }
            else
            {
                MakeRoom();
                if (_cache.TryAdd(key, entry))
                {
                    return true;
                }
            }
        }
    }

    /// <summary>Background writes not yet answered (at most <see cref="MaxWritesOut"/>).</summary>
    internal int WritesOut => Volatile.Read(ref _writesOut);

    /// <summary>
    /// Writes in the background; failures are logged, never thrown. Skipped while storage is known to be down: the
    /// outage is already logged once, and a write per request would only pile up failing calls (a session in use
    /// writes it again once storage answers: <see cref="ReadThroughAsync"/>). Skipped too past
    /// <see cref="MaxWritesOut"/>, for the same reason when storage answers reads but writes slowly (throttled): each
    /// write out holds a request and its connection's place, and new sessions come at the rate of requests.
    /// </summary>
    /// <returns>When the binding written expires: what this instance holds it alive until, written or not.</returns>
    private DateTimeOffset Write(string key, string accountId, DateTimeOffset now)
    {
        if (!hotPath.IsDown)
        {
            if (Interlocked.Increment(ref _writesOut) <= MaxWritesOut)
            {
                _ = WriteCountedAsync(key, accountId, now);
            }
            else
            {
                Interlocked.Decrement(ref _writesOut);
                if (Interlocked.Exchange(ref _writesHeldBack, 1) == 0)
                {
                    Log.WritesHeldBack(logger, MaxWritesOut);
                }
            }
        }

        return now + _options.Ttl;
    }

    private async Task WriteCountedAsync(string key, string accountId, DateTimeOffset now)
    {
        try
        {
            await WriteAsync(key, accountId, now).ConfigureAwait(false);
        }
        finally
        {
            // Logged again only once the backlog has drained to half: once per episode, not once per request.
            if (Interlocked.Decrement(ref _writesOut) <= MaxWritesOut / 2)
            {
                Volatile.Write(ref _writesHeldBack, 0);
            }
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

    private void Remember(string key, Cached entry)
    {
        MakeRoom();
        _cache[key] = entry;
    }

    private void MakeRoom()
    {
        if (_cache.Count >= MaxCached)
        {
            // NOTE: crude but bounded: the cache only saves reads, storage holds the truth.
            _cache.Clear();
        }
    }

    private static string PartitionOf(string key) => key[..2];

    /// <param name="FreshUntil">Until when it is served without reading storage (<see cref="SessionOptions.LocalCacheTtl"/>).</param>
    /// <param name="ExpiresAt">When the binding itself expires, as this instance last read or wrote it.</param>
    private readonly record struct Cached(string? AccountId, DateTimeOffset FreshUntil, DateTimeOffset ExpiresAt)
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

        [LoggerMessage(EventId = 1614, Level = LogLevel.Warning, Message = "{Count} session binding writes are out; new bindings are held on this instance and written when their sessions are next read")]
        public static partial void WritesHeldBack(ILogger logger, int count);
    }
}
