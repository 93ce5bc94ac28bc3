using System.Security.Cryptography;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Sessions;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Sessions;

/// <summary>
/// A bound session never waits for storage (<see cref="SessionBindings"/> says why): a binding the instance holds is
/// served at once past its cache life and read again behind the request, a read storage could not answer keeps what
/// was known, and a session storage could not tell about is bound here and written once storage answers. Storage is Azurite behind
/// <see cref="StorageProxy"/>, told to hang or refuse; the cache's clock is a manual one.
/// </summary>
public sealed class SessionCacheTests(AzuriteFixture azurite) : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private static readonly TimeSpan CacheLife = new SessionOptions().LocalCacheTtl;

    private readonly ManualTimeProvider _time = new();
    private readonly StorageProxy _proxy = StorageProxy.Start(azurite.TablePort);
    private readonly string _prefix = StorageTestKit.UniquePrefix("cache");
    private ServiceProvider? _services;

    public async ValueTask DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await _proxy.DisposeAsync();
    }

    /// <summary>Bindings of one instance reaching storage through the proxy; a hot-path deadline in real time.</summary>
    private SessionBindings Sessions(string hotPathTimeout, int? maxConnections = null)
    {
        var settings = StorageTestKit.Settings(azurite, _prefix);
        settings["AzureWebJobsStorage"] = _proxy.Through(azurite.ConnectionString);
        settings["Storage:HotPathTimeout"] = hotPathTimeout;
        settings["Storage:MaxConnections"] = maxConnections?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _services = StorageTestKit.Services(settings, _time);
        return new SessionBindings(_services.GetRequiredService<RelayTables>(), HotPath, Options.Create(new SessionOptions()), _time, NullLogger<SessionBindings>.Instance);
    }

    private HotPathStorage HotPath => _services!.GetRequiredService<HotPathStorage>();

    private static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    [Fact]
    public async Task ResolveAsync_SessionIdlePastItsCacheLife_ServedAtOnceAndAMoveFollowedFromTheNextRequest()
    {
        var ct = TestContext.Current.CancellationToken;
        var sessions = Sessions(hotPathTimeout: "00:00:00.500");
        var key = NewKey();
        await sessions.WriteAsync(key, "acct_a", _time.GetUtcNow()).WaitAsync(Timeout, ct);
        Assert.Equal("acct_a", (await sessions.ResolveAsync(key, ct).AsTask().WaitAsync(Timeout, ct)).AccountId);
        await sessions.WriteAsync(key, "acct_b", _time.GetUtcNow()).WaitAsync(Timeout, ct); // as another instance moving it

        _time.Advance(CacheLife * 5); // the conversation's next turn, well after the last
        var nextTurn = await AtOnce.ProbeAsync(sessions.ResolveAsync(key, ct));
        var followed = await AtOnce.UntilAsync(() => sessions.ResolveAsync(key, ct), b => b.AccountId == "acct_b", Timeout, ct);

        Assert.True(nextTurn.AtOnce, "a bound session's turn waited for storage");
        Assert.Equal("acct_a", nextTurn.Value.AccountId);
        Assert.Equal("acct_b", followed.AccountId);
    }

    [Fact]
    public async Task ResolveAsync_SessionInUseOutlivesItsEntryWhileItsRefreshIsOut_ServedAtOnceWithOneRead()
    {
        var ct = TestContext.Current.CancellationToken;
        var sessions = Sessions(hotPathTimeout: "00:00:30");
        var key = await SessionWithItsRefreshOutAsync(sessions, ct);
        var before = _proxy.Connections;

        _time.Advance(CacheLife * 0.5);
        var past = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => AtOnce.ProbeAsync(sessions.ResolveAsync(key, ct)))).WaitAsync(Timeout, ct);

        Assert.All(past, p => Assert.True(p.AtOnce, "a session in use waited for a second read of its row"));
        Assert.All(past, p => Assert.Equal("acct_a", p.Value.AccountId));
        Assert.Equal(before, _proxy.Connections);
    }

    [Fact]
    public async Task ResolveAsync_RefreshOfASessionInUseFails_SessionKeepsItsAccountAndFollowsStorageOnceItAnswers()
    {
        var ct = TestContext.Current.CancellationToken;
        var sessions = Sessions(hotPathTimeout: "00:00:30");
        var key = await SessionWithItsRefreshOutAsync(sessions, ct);

        _time.Advance(CacheLife * 0.5);
        _proxy.Mode = StorageMode.Refuse; // cuts the refresh's connection: the read fails
        await Eventually.ValueAsync("the refresh failing", _ => Task.FromResult(HotPath.IsDown), down => down);
        var kept = await AtOnce.ProbeAsync(sessions.ResolveAsync(key, ct));
        _proxy.Mode = StorageMode.Forward;
        await sessions.WriteAsync(key, "acct_b", _time.GetUtcNow()).WaitAsync(Timeout, ct); // moved by another instance meanwhile
        _time.Advance(HotPath.OutageBackoff > CacheLife ? HotPath.OutageBackoff : CacheLife); // the back-off over, and the kept entry's life
        var followed = await AtOnce.UntilAsync(() => sessions.ResolveAsync(key, ct), b => b.AccountId == "acct_b", Timeout, ct);

        Assert.True(kept.AtOnce);
        Assert.Equal("acct_a", kept.Value.AccountId);
        Assert.Equal("acct_b", followed.AccountId);
    }

    /// <summary>
    /// A session bound to <c>acct_a</c> and in use, then storage hanging: the session's refresh ahead is out, stuck in
    /// storage (the deadline is the caller's, long). Returns the session's key.
    /// </summary>
    private async Task<string> SessionWithItsRefreshOutAsync(SessionBindings sessions, CancellationToken ct)
    {
        var key = NewKey();
        await sessions.WriteAsync(key, "acct_a", _time.GetUtcNow()).WaitAsync(Timeout, ct);
        Assert.Equal("acct_a", (await sessions.ResolveAsync(key, ct).AsTask().WaitAsync(Timeout, ct)).AccountId);

        _proxy.Mode = StorageMode.Hang;
        var before = _proxy.Connections;
        _time.Advance(CacheLife * 0.9);
        Assert.True((await AtOnce.ProbeAsync(sessions.ResolveAsync(key, ct))).AtOnce);
        await Eventually.ValueAsync("the refresh ahead reaching storage", _ => Task.FromResult(_proxy.Connections - before), n => n >= 1);
        return key;
    }

    [Fact]
    public async Task Bind_NewSessionWhileStorageRefuses_BoundHereAndWrittenOnceStorageAnswers()
    {
        var ct = TestContext.Current.CancellationToken;
        var sessions = Sessions(hotPathTimeout: "00:00:00.500");
        Assert.Null((await sessions.ResolveAsync(NewKey(), ct).AsTask().WaitAsync(Timeout, ct)).AccountId); // creates the table
        var key = NewKey();

        _proxy.Mode = StorageMode.Refuse;
        var unknown = await sessions.ResolveAsync(key, ct).AsTask().WaitAsync(Timeout, ct);
        Assert.True(HotPath.IsDown);
        sessions.Bind(unknown, "acct_x");
        var local = await AtOnce.ProbeAsync(sessions.ResolveAsync(key, ct));
        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(_prefix + "sessions");
        var whileDown = await table.GetEntityIfExistsAsync<TableEntity>(key[..2], key, cancellationToken: ct);

        // The session stays in use while storage is down (each refresh fails at once and keeps it), then storage answers.
        _proxy.Mode = StorageMode.Forward;
        var kept = new List<string?>();
        var written = await Eventually.ValueAsync(
            "the binding written once storage answers, the session in use",
            async token =>
            {
                _time.Advance(CacheLife * 0.1);
                kept.Add((await sessions.ResolveAsync(key, token)).AccountId);
                return await table.GetEntityIfExistsAsync<TableEntity>(key[..2], key, cancellationToken: token);
            },
            row => row.HasValue,
            row => row.HasValue ? "a row" : "no row");

        Assert.Null(unknown.AccountId);
        Assert.True(local.AtOnce);
        Assert.Equal("acct_x", local.Value.AccountId);
        Assert.False(whileDown.HasValue);
        Assert.Equal("acct_x", written.Value!.GetString("AccountId"));
        Assert.True(kept.Count * CacheLife * 0.1 > HotPath.OutageBackoff, "written before the outage's back-off ended");
        Assert.All(kept, account => Assert.Equal("acct_x", account));
    }

    [Fact]
    public async Task Bind_WritesOutPastTheBound_HeldHereAndWrittenWhenTheirSessionsAreNextRead()
    {
        var ct = TestContext.Current.CancellationToken;
        var sessions = Sessions(hotPathTimeout: "00:00:30");
        Assert.Null((await sessions.ResolveAsync(NewKey(), ct).AsTask().WaitAsync(Timeout, ct)).AccountId); // creates the table
        var keys = Enumerable.Range(0, SessionBindings.MaxWritesOut + 40).Select(_ => NewKey()).ToArray();
        var heldBack = keys[SessionBindings.MaxWritesOut..];

        // Storage answers nothing (a throttled account, as far as writes go): every write stays out.
        _proxy.Mode = StorageMode.Hang;
        foreach (var key in keys)
        {
            sessions.Bind(new SessionBinding(key, AccountId: null), "acct_a");
        }

        var outWhileHung = sessions.WritesOut;
        var servedHere = await AtOnce.ProbeAsync(sessions.ResolveAsync(heldBack[^1], ct));

        _proxy.Mode = StorageMode.Forward;
        await Eventually.ValueAsync("the writes out answered", _ => Task.FromResult(sessions.WritesOut), n => n == 0);
        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(_prefix + "sessions");
        var afterWrites = await RowKeysAsync(table, ct);

        // Each held-back session's next request, late in its cache life, reads storage behind it and writes what it lacks.
        _time.Advance(CacheLife * 0.9);
        foreach (var key in heldBack)
        {
            Assert.Equal("acct_a", (await sessions.ResolveAsync(key, ct)).AccountId);
        }

        var afterReads = await Eventually.ValueAsync("every binding written", token => RowKeysAsync(table, token), rows => rows.Count == keys.Length, rows => $"{rows.Count} rows");

        Assert.Equal(SessionBindings.MaxWritesOut, outWhileHung);
        Assert.True(servedHere.AtOnce);
        Assert.Equal("acct_a", servedHere.Value.AccountId);
        Assert.Equal(keys[..SessionBindings.MaxWritesOut].Order(), afterWrites.Where(keys.Contains).Order());
        Assert.Equal(keys.Order(), afterReads.Where(keys.Contains).Order());
    }

    private static async Task<List<string>> RowKeysAsync(TableClient table, CancellationToken cancellationToken)
    {
        var rows = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(select: ["RowKey"], cancellationToken: cancellationToken))
        {
            rows.Add(row.RowKey);
        }

        return rows;
    }

    [Fact]
    public async Task Bind_BurstOfANewSessionsFirstRequests_WritesTheBindingOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var sessions = Sessions(hotPathTimeout: "00:00:30");
        var key = NewKey();
        var burst = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => sessions.ResolveAsync(key, ct).AsTask())).WaitAsync(Timeout, ct);
        var before = _proxy.Connections;

        // Each request of the burst binds the session to the account that served it, as the relay does after an answer.
        foreach (var binding in burst)
        {
            sessions.Bind(binding, "acct_a");
        }

        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(_prefix + "sessions");
        var written = await Eventually.ValueAsync(
            "the binding written",
            token => table.GetEntityIfExistsAsync<TableEntity>(key[..2], key, cancellationToken: token),
            row => row.HasValue,
            row => row.HasValue ? "a row" : "no row");
        var served = await AtOnce.ProbeAsync(sessions.ResolveAsync(key, ct));

        Assert.All(burst, b => Assert.Null(b.AccountId));
        Assert.Equal("acct_a", written.Value!.GetString("AccountId"));
        Assert.True(served.AtOnce);
        Assert.Equal("acct_a", served.Value.AccountId);
        // Concurrent writes of the row would each take a connection of their own; one write takes at most one.
        Assert.InRange(_proxy.Connections - before, 0, 1);
    }

    [Fact]
    public async Task ResolveAndBind_BurstOfManyDifferentNewSessions_StaysWithinTheConnectionCapAndWritesEveryBinding()
    {
        var ct = TestContext.Current.CancellationToken;
        const int cap = 4;
        var sessions = Sessions(hotPathTimeout: "00:00:30", maxConnections: cap);
        var keys = Enumerable.Range(0, 100).Select(_ => NewKey()).ToArray();

        // Every request of the burst is a session's first: a read each, then, once answered, a write each.
        var burst = await Task.WhenAll(keys.Select(key => sessions.ResolveAsync(key, ct).AsTask())).WaitAsync(Timeout, ct);
        foreach (var binding in burst)
        {
            sessions.Bind(binding, "acct_a");
        }

        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(_prefix + "sessions");
        var written = await Eventually.ValueAsync(
            "every binding written",
            async token =>
            {
                var rows = new List<TableEntity>();
                await foreach (var row in table.QueryAsync<TableEntity>(cancellationToken: token))
                {
                    rows.Add(row);
                }

                return rows;
            },
            rows => rows.Count == keys.Length,
            rows => $"{rows.Count} rows");

        Assert.All(burst, b => Assert.Null(b.AccountId));
        Assert.Equal(keys.Order(), written.Select(r => r.RowKey).Order());
        Assert.All(written, r => Assert.Equal("acct_a", r.GetString("AccountId")));
        // Without a cap the SDK's transport opens a connection per concurrent call: about one per session here.
        Assert.InRange(_proxy.PeakForwarded, 1, cap);
    }
}
