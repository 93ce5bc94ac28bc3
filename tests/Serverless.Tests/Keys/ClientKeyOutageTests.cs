using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Keys;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Sessions;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Keys;

/// <summary>Key lookups while storage is down (issue 8): stale-if-error for keys seen before, "cannot say" for others.</summary>
public sealed class ClientKeyOutageTests(AzuriteFixture azurite) : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
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
}
