using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Keys;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Keys;

public sealed class ClientKeyAuthenticatorTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private readonly ManualTimeProvider _time = new();
    private ServiceProvider? _services;

    public void Dispose() => _services?.Dispose();

    private ServiceProvider Services => _services ??= StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("auth")), _time);

    private ClientKeyAuthenticator Authenticator => Services.GetRequiredService<ClientKeyAuthenticator>();

    private ClientKeyStore Store => Services.GetRequiredService<ClientKeyStore>();

    private async Task<(ClientKey Key, string Plaintext, string Hash)> CreateAsync(CancellationToken ct)
    {
        var (plaintext, hash, hint) = ClientKeySecret.Generate();
        var key = new ClientKey { Id = StorageIds.New("key"), Name = "app", CreatedAt = _time.GetUtcNow(), Hint = hint };
        await Store.CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);
        return (key, plaintext, hash);
    }

    [Fact]
    public async Task AuthenticateAsync_KnownKey_ReturnsRecordThenServesFromCache()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, plaintext, _) = await CreateAsync(ct);

        var first = await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        await Store.DeleteAsync(key.Id, ct).WaitAsync(Timeout, ct); // behind the cache's back
        var cached = Authenticator.AuthenticateAsync(plaintext, ct);

        Assert.Equal(key.Id, first!.Id);
        Assert.True(cached.IsCompletedSuccessfully, "a cache hit completes synchronously");
        Assert.Equal(key.Id, (await cached)!.Id);
    }

    [Fact]
    public async Task AuthenticateAsync_PositiveEntryOlderThanTtl_ReadsAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, plaintext, _) = await CreateAsync(ct);
        await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        await Store.DeleteAsync(key.Id, ct).WaitAsync(Timeout, ct);

        _time.Advance(TimeSpan.FromSeconds(4.9));
        var stillCached = await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        _time.Advance(TimeSpan.FromSeconds(0.2));
        var reread = await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);

        Assert.NotNull(stillCached);
        Assert.Null(reread);
    }

    [Fact]
    public async Task AuthenticateAsync_UnknownKey_NegativeCachedForTwoSeconds()
    {
        var ct = TestContext.Current.CancellationToken;
        var (plaintext, hash, hint) = ClientKeySecret.Generate();

        var unknown = await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        var key = new ClientKey { Id = StorageIds.New("key"), Name = "late", CreatedAt = _time.GetUtcNow(), Hint = hint };
        await Store.CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);
        var stillUnknown = Authenticator.AuthenticateAsync(plaintext, ct);
        _time.Advance(TimeSpan.FromSeconds(2));
        var found = await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);

        Assert.Null(unknown);
        Assert.True(stillUnknown.IsCompletedSuccessfully);
        Assert.Null(await stillUnknown);
        Assert.Equal(key.Id, found!.Id);
    }

    [Fact]
    public async Task AuthenticateAsync_DisabledKey_ReturnedForThePipelineToRefuse()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, plaintext, _) = await CreateAsync(ct);
        await Store.UpdateAsync(key.Id, k => k with { Enabled = false }, ct).WaitAsync(Timeout, ct);

        var found = await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);

        Assert.False(found!.Enabled);
    }

    [Fact]
    public async Task Invalidate_AfterChange_NextLookupReadsStorage()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, plaintext, _) = await CreateAsync(ct);
        await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        await Store.UpdateAsync(key.Id, k => k with { Enabled = false }, ct).WaitAsync(Timeout, ct);

        Authenticator.Invalidate(key.Id);
        var found = await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);

        Assert.False(found!.Enabled);
    }

    [Fact]
    public async Task Invalidate_KeyCreatedAfterItsSecretWasUnknown_FoundAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var (plaintext, hash, hint) = ClientKeySecret.Generate();
        var unknown = await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        var key = new ClientKey { Id = StorageIds.New("key"), Name = "new", CreatedAt = _time.GetUtcNow(), Hint = hint };
        await Store.CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);

        Authenticator.Invalidate(key.Id); // what the admin API does after creating a key
        var found = await Authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);

        Assert.Null(unknown);
        Assert.Equal(key.Id, found!.Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Bearer sk-relay-x")]
    [InlineData("sk-relay-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/")]
    public async Task AuthenticateAsync_MalformedKey_NullWithoutStorage(string presented)
    {
        var result = Authenticator.AuthenticateAsync(presented, TestContext.Current.CancellationToken);

        Assert.True(result.IsCompletedSuccessfully);
        Assert.Null(await result);
    }
}
