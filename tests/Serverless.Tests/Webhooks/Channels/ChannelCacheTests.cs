using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Relay.Keys;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Sessions;
using Serverless.Tests.Storage;
using Serverless.Webhooks.Channels;
using Xunit;

namespace Serverless.Tests.Webhooks.Channels;

/// <summary>
/// Webhooks read their channel through <see cref="ChannelStore"/>'s per-instance cache; those that miss it together
/// share one read. Storage is Azurite behind <see cref="StorageProxy"/>, which counts the connections a burst opens.
/// </summary>
public sealed class ChannelCacheTests(AzuriteFixture azurite) : IAsyncDisposable
{
    private readonly StorageProxy _proxy = StorageProxy.Start(azurite.TablePort);
    private ServiceProvider? _services;

    public async ValueTask DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await _proxy.DisposeAsync();
    }

    [Fact]
    public async Task GetAsync_BurstOfWebhooksForAChannelThisInstanceHasNotRead_ReadsItOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("chcache"));
        settings["AzureWebJobsStorage"] = _proxy.Through(azurite.ConnectionString);
        _services = StorageTestKit.Services(settings);
        var channel = NewChannel();
        await Store().CreateAsync(channel, ct).WaitAsync(StorageTestKit.Timeout, ct); // as the admin API on another instance
        var before = _proxy.Connections;

        var instance = Store();
        var burst = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => instance.GetAsync(channel.Id, ct).AsTask())).WaitAsync(StorageTestKit.Timeout, ct);

        Assert.All(burst, read => Assert.Equal(channel.Id, read?.Id));
        Assert.All(burst, read => Assert.Equal("bot-token", read?.Credential("botToken")));
        // The write left one idle connection: a single read reuses it, reads of their own would each open one.
        Assert.InRange(_proxy.Connections - before, 0, 1);
    }

    private ChannelStore Store() => new(
        _services!.GetRequiredService<RelayTables>(),
        _services!.GetRequiredService<SecretProtector>(),
        TimeProvider.System,
        NullLogger<ChannelStore>.Instance);

    private static Channel NewChannel() => new()
    {
        Id = StorageIds.New(ChannelStore.IdPrefix),
        Platform = ImPlatform.Telegram,
        Name = "burst",
        Model = "gpt-4o-mini",
        KeyId = "key_0123456789abcdef",
        ApiBaseUrl = new Uri("https://api.telegram.org/"),
        Credentials = new Dictionary<string, string>(StringComparer.Ordinal) { ["botToken"] = "bot-token" },
        CreatedAt = DateTimeOffset.UtcNow,
    };
}
