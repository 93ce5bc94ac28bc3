using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Keys;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Sessions;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Keys;

/// <summary>
/// Key lookups while storage is down (issue 8): stale-if-error for keys seen before, "cannot say" for others. And while
/// it is up: a key in use is read again in the background during the last fifth of its entry's life (issue 11), so no
/// lookup of a busy key waits for storage, and what is served is never older than the TTL.
/// </summary>
public sealed class ClientKeyOutageTests(AzuriteFixture azurite) : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private static readonly TimeSpan NearExpiry = ClientKeyAuthenticator.PositiveTtl * 0.9;
    private readonly ManualTimeProvider _time = new();
    private readonly StorageProxy _proxy = StorageProxy.Start(azurite.TablePort);
    private ServiceProvider? _services;

    public async ValueTask DisposeAsync()
    {
        _services?.Dispose();
        await _proxy.DisposeAsync();
    }

    private ServiceProvider Services => _services ??= StorageTestKit.Services(
        new Dictionary<string, string?>(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("outage")))
        {
            ["AzureWebJobsStorage"] = _proxy.Through(azurite.ConnectionString),
            ["Storage:HotPathTimeout"] = "00:00:00.300",
            ["Storage:DecisiveReadTimeout"] = "00:00:03",
        },
        _time);

    private ClientKeyAuthenticator Authenticator => Services.GetRequiredService<ClientKeyAuthenticator>();

    [Theory]
    [InlineData(StorageMode.Refuse)]
    [InlineData(StorageMode.Hang)]
    public async Task LookupAsync_StorageDownAfterTtl_ServesTheStaleRecord(StorageMode mode)
    {
        var ct = TestContext.Current.CancellationToken;
        var (plaintext, hash, hint) = ClientKeySecret.Generate();
        var key = new ClientKey { Id = StorageIds.New("key"), Name = "app", CreatedAt = _time.GetUtcNow(), Hint = hint };
        await Services.GetRequiredService<ClientKeyStore>().CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);
        await Authenticator.LookupAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);

        _proxy.Mode = mode;
        _time.Advance(ClientKeyAuthenticator.PositiveTtl + TimeSpan.FromSeconds(1));
        var stale = await Authenticator.LookupAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        var unknown = await Authenticator.LookupAsync(ClientKeySecret.Generate().Plaintext, ct).AsTask().WaitAsync(Timeout, ct);

        Assert.Equal(key.Id, stale.Key!.Id);
        Assert.False(stale.StorageUnavailable);
        Assert.Null(unknown.Key);
        Assert.True(unknown.StorageUnavailable);
        Assert.True(Services.GetRequiredService<HotPathStorage>().IsDown);
    }

    /// <summary>
    /// Fifty requests with one key whose entry expired, storage hanging: they share one read (one connection; a read
    /// each opened one each) and are all served the stale record after the one deadline (SharedReadsTests).
    /// </summary>
    [Fact]
    public async Task LookupAsync_BurstAfterTtlWhileStorageHangs_OneReadReachesStorage()
    {
        var ct = TestContext.Current.CancellationToken;
        var (plaintext, hash, hint) = ClientKeySecret.Generate();
        var key = new ClientKey { Id = StorageIds.New("key"), Name = "app", CreatedAt = _time.GetUtcNow(), Hint = hint };
        await Services.GetRequiredService<ClientKeyStore>().CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);
        await Authenticator.LookupAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);

        _proxy.Mode = StorageMode.Hang;
        _time.Advance(ClientKeyAuthenticator.PositiveTtl + TimeSpan.FromSeconds(1));
        var before = _proxy.Connections;
        var burst = Enumerable.Range(0, 50).Select(_ => Authenticator.LookupAsync(plaintext, ct).AsTask()).ToList();
        var lookups = await Task.WhenAll(burst).WaitAsync(Timeout, ct);

        Assert.All(lookups, lookup => Assert.Equal(key.Id, lookup.Key?.Id));
        Assert.Equal(1, _proxy.Connections - before);
    }

    [Fact]
    public async Task LookupAsync_StorageBackAfterBackoff_ReadsAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = Services.GetRequiredService<ClientKeyStore>();
        var (plaintext, hash, hint) = ClientKeySecret.Generate();
        var key = new ClientKey { Id = StorageIds.New("key"), Name = "app", CreatedAt = _time.GetUtcNow(), Hint = hint };
        await store.CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);
        await Authenticator.LookupAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        _proxy.Mode = StorageMode.Refuse;
        _time.Advance(ClientKeyAuthenticator.PositiveTtl + TimeSpan.FromSeconds(1));
        Assert.NotNull((await Authenticator.LookupAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct)).Key);

        _proxy.Mode = StorageMode.Forward;
        await store.DeleteAsync(key.Id, ct).WaitAsync(Timeout, ct);
        var duringBackoff = await Authenticator.LookupAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        _time.Advance(TimeSpan.FromSeconds(6)); // past the 5 s outage back-off
        var afterBackoff = await Authenticator.LookupAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);

        Assert.NotNull(duringBackoff.Key); // storage is not asked again for a key it can do without until the back-off has passed
        Assert.Null(afterBackoff.Key);
        Assert.False(afterBackoff.StorageUnavailable);
    }

    private ClientKeyStore Store => Services.GetRequiredService<ClientKeyStore>();

    private async Task<(ClientKey Key, string Plaintext)> CreateAndLookUpAsync(CancellationToken ct)
    {
        var (plaintext, hash, hint) = ClientKeySecret.Generate();
        var key = new ClientKey { Id = StorageIds.New("key"), Name = "before", CreatedAt = _time.GetUtcNow(), Hint = hint };
        await Store.CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);
        Assert.Equal(key.Id, (await Authenticator.LookupAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct)).Key?.Id);
        return (key, plaintext);
    }

    /// <summary>Looks the key up until <paramref name="done"/> holds, each lookup answered without waiting for storage.</summary>
    private Task<KeyLookup> LookUpUntilAsync(string plaintext, Func<KeyLookup, bool> done, CancellationToken ct) =>
        AtOnce.UntilAsync(() => Authenticator.LookupAsync(plaintext, ct), done, Timeout, ct);

    [Fact]
    public async Task LookupAsync_KeyInUseNearExpiry_IsRenewedInTheBackgroundAndStaysFreshPastTheOldExpiry()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, plaintext) = await CreateAndLookUpAsync(ct);
        Assert.True((await Store.UpdateAsync(key.Id, k => k with { Name = "after" }, ct).WaitAsync(Timeout, ct)).IsSuccess);

        _time.Advance(NearExpiry);
        var renewed = await LookUpUntilAsync(plaintext, l => l.Key?.Name == "after", ct);
        _time.Advance(ClientKeyAuthenticator.PositiveTtl * 0.5); // past the first read's expiry, within the renewal's

        var later = await AtOnce.ProbeAsync(Authenticator.LookupAsync(plaintext, ct));

        Assert.Equal("after", renewed.Key?.Name);
        Assert.True(later.AtOnce);
        Assert.Equal("after", later.Value.Key?.Name);
    }

    [Fact]
    public async Task LookupAsync_KeyDeletedWhileInUse_IsRefusedBeforeItsEntryWouldHaveExpired()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, plaintext) = await CreateAndLookUpAsync(ct);
        Assert.True(await Store.DeleteAsync(key.Id, ct).WaitAsync(Timeout, ct));

        _time.Advance(NearExpiry);
        var lookup = await LookUpUntilAsync(plaintext, l => l.Key is null, ct);

        Assert.Null(lookup.Key);
        Assert.False(lookup.StorageUnavailable);
    }

    [Fact]
    public async Task LookupAsync_StorageHangingNearExpiry_AnswersFromTheCacheAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, plaintext) = await CreateAndLookUpAsync(ct);
        _proxy.Mode = StorageMode.Hang;

        _time.Advance(NearExpiry);
        var first = await AtOnce.ProbeAsync(Authenticator.LookupAsync(plaintext, ct));
        var second = await AtOnce.ProbeAsync(Authenticator.LookupAsync(plaintext, ct));

        Assert.True(first.AtOnce);
        Assert.True(second.AtOnce);
        Assert.Equal(key.Id, first.Value.Key?.Id);
        Assert.Equal(key.Id, second.Value.Key?.Id);
    }
}
