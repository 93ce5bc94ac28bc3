using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Platforms;
using Xunit;
using static Serverless.Tests.Webhooks.Platforms.PlatformTestKit;

namespace Serverless.Tests.Webhooks.Platforms;

/// <summary>The token cache on Azurite: two caches stand for two instances sharing the table.</summary>
public sealed class PlatformTokenCacheTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task GetAsync_TwoInstancesAtOnce_OneFetchBothGetIt()
    {
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("tok")));
        var clock = Clock(Start);
        var first = TokenCache(storage, clock);
        var second = TokenCache(storage, clock);
        var channel = Channel(ImPlatform.Feishu, new Uri("http://127.0.0.1:9"));
        var fetches = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<TokenFetch> Fetch(CancellationToken token)
        {
            Interlocked.Increment(ref fetches);
            await release.Task.WaitAsync(token);
            return TokenFetch.Issued("tok-1", TimeSpan.FromHours(2));
        }

        var a = first.GetAsync(channel, "app", Fetch, TestContext.Current.CancellationToken).AsTask();
        var b = first.GetAsync(channel, "app", Fetch, TestContext.Current.CancellationToken).AsTask();
        await Eventually.ValueAsync("the first fetch to start", _ => Task.FromResult(Volatile.Read(ref fetches)), n => n == 1);
        var c = second.GetAsync(channel, "app", Fetch, TestContext.Current.CancellationToken).AsTask();
        release.SetResult();

        // The second instance found the lease taken and polls on the (fake) clock: move it until it has the token.
        await Eventually.ValueAsync("the waiting instance to get the token", _ =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(20));
            return Task.FromResult(c.IsCompleted);
        }, done => done);
        var results = await Task.WhenAll(a, b, c).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.All(results, r => Assert.Equal("tok-1", r.Token));
        Assert.Equal(1, fetches);
    }

    [Fact]
    public async Task GetAsync_OtherCredentialsOrRejectedToken_FetchesAgain()
    {
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("tok")));
        var cache = TokenCache(storage, Clock(Start));
        var channel = Channel(ImPlatform.WeCom, new Uri("http://127.0.0.1:9"));
        var issued = 0;
        Task<TokenFetch> Fetch(CancellationToken _) => Task.FromResult(TokenFetch.Issued("tok-" + Interlocked.Increment(ref issued), TimeSpan.FromHours(2)));

        var one = await cache.GetAsync(channel, "corp\nsecret-1", Fetch, TestContext.Current.CancellationToken);
        var same = await cache.GetAsync(channel, "corp\nsecret-1", Fetch, TestContext.Current.CancellationToken);
        var changed = await cache.GetAsync(channel, "corp\nsecret-2", Fetch, TestContext.Current.CancellationToken);
        var afterReject = await cache.GetAsync(channel, "corp\nsecret-2", Fetch, TestContext.Current.CancellationToken, rejected: changed.Token);

        Assert.Equal("tok-1,tok-1,tok-2,tok-3", string.Join(",", one.Token, same.Token, changed.Token, afterReject.Token));
    }

    [Fact]
    public async Task GetAsync_TokensPastTheirExpiry_DroppedFromMemoryAsANewOneComes()
    {
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("tok")));
        var clock = Clock(Start);
        var cache = TokenCache(storage, clock);
        var shortLived = Channel(ImPlatform.Feishu, new Uri("http://127.0.0.1:9"));
        var longLived = Channel(ImPlatform.Feishu, new Uri("http://127.0.0.1:9"));
        var later = Channel(ImPlatform.WeCom, new Uri("http://127.0.0.1:9"));
        Func<CancellationToken, Task<TokenFetch>> Issue(string token, TimeSpan lifetime) => _ => Task.FromResult(TokenFetch.Issued(token, lifetime));

        await cache.GetAsync(shortLived, "app", Issue("tok-short", TimeSpan.FromHours(1)), TestContext.Current.CancellationToken);
        await cache.GetAsync(longLived, "app", Issue("tok-long", TimeSpan.FromHours(3)), TestContext.Current.CancellationToken);
        Assert.Equal(2, cache.Cached);
        clock.Advance(TimeSpan.FromHours(2));
        var fresh = await cache.GetAsync(later, "corp", Issue("tok-later", TimeSpan.FromHours(2)), TestContext.Current.CancellationToken);

        Assert.Equal("tok-later", fresh.Token);
        Assert.Equal(2, cache.Cached);
        var stillHeld = await cache.GetAsync(longLived, "app", Issue("tok-refetched", TimeSpan.FromHours(2)), TestContext.Current.CancellationToken);
        Assert.Equal("tok-long", stillHeld.Token);
    }

    [Fact]
    public async Task GetAsync_AnotherInstanceRefreshed_ReusesStoredToken()
    {
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("tok")));
        var clock = Clock(Start);
        var channel = Channel(ImPlatform.Feishu, new Uri("http://127.0.0.1:9"));
        var issued = 0;
        Task<TokenFetch> Fetch(CancellationToken _) => Task.FromResult(TokenFetch.Issued("tok-" + Interlocked.Increment(ref issued), TimeSpan.FromHours(2)));

        await TokenCache(storage, clock).GetAsync(channel, "app", Fetch, TestContext.Current.CancellationToken);
        var other = await TokenCache(storage, clock).GetAsync(channel, "app", Fetch, TestContext.Current.CancellationToken);

        Assert.Equal("tok-1", other.Token);
        Assert.Equal(1, issued);
    }

    [Fact]
    public async Task GetAsync_FetchRefused_ErrorKeptPermanentAndNextCallTriesAgain()
    {
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("tok")));
        var cache = TokenCache(storage, Clock(Start));
        var channel = Channel(ImPlatform.Feishu, new Uri("http://127.0.0.1:9"));
        var calls = 0;
        Task<TokenFetch> Fetch(CancellationToken _) => Task.FromResult(Interlocked.Increment(ref calls) == 1
            ? TokenFetch.Failed("token endpoint answered 400 code 10014", true)
            : TokenFetch.Issued("tok-ok", TimeSpan.FromHours(2)));

        var refused = await cache.GetAsync(channel, "app", Fetch, TestContext.Current.CancellationToken);
        var next = await cache.GetAsync(channel, "app", Fetch, TestContext.Current.CancellationToken);

        Assert.Equal(new PlatformTokenResult(null, "token endpoint answered 400 code 10014", true), refused);
        Assert.Equal("tok-ok", next.Token);
    }
}
