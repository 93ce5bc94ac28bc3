using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Limits;
using Serverless.Relay.Relaying;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Sessions;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Limits;

/// <summary>
/// A key's counters with storage hanging: Azurite behind <see cref="StorageProxy"/>. Limits fail closed, after one
/// sync deadline for all the key's requests at once, not after the table SDK's retries for each in turn.
/// </summary>
public sealed class LimiterOutageTests(AzuriteFixture azurite) : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private readonly StorageProxy _proxy = StorageProxy.Start(azurite.TablePort);
    private ServiceProvider? _services;
    private KeyLimiter? _limiter;

    public async ValueTask DisposeAsync()
    {
        if (_limiter is not null)
        {
            await _limiter.DisposeAsync();
        }

        _services?.Dispose();
        await _proxy.DisposeAsync();
    }

    private KeyLimiter Limiter()
    {
        var settings = StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("limout"));
        settings["AzureWebJobsStorage"] = _proxy.Through(azurite.ConnectionString);
        _services = StorageTestKit.Services(settings, TimeProvider.System);
        var store = new TableCounterStore(_services.GetRequiredService<RelayTables>(), NullLogger<TableCounterStore>.Instance);
        var options = Options.Create(new LimitOptions { SyncTimeout = TimeSpan.FromMilliseconds(500) });
        return _limiter = new KeyLimiter(store, TimeProvider.System, options, new Lazy<TokenEstimator>(KeyLimiterTests.Estimator), NullLogger<KeyLimiter>.Instance);
    }

    [Fact]
    public async Task AcquireAsync_StorageHangs_EveryRequestOfTheKeyRefusedAsUncheckedWithinSeconds()
    {
        var ct = TestContext.Current.CancellationToken;
        var limiter = Limiter();
        using (var warmUp = await limiter.AcquireAsync(KeyLimiterTests.Key("""{"rpm": 100}""", "key_warmup00000001"), KeyLimiterTests.Request(), ct).AsTask().WaitAsync(Timeout, ct))
        {
            Assert.True(warmUp.IsAcquired); // the counters table exists, and storage answered through the proxy
        }

        _proxy.Mode = StorageMode.Hang;
        var key = KeyLimiterTests.Key("""{"rpm": 100}""");
        var started = DateTime.UtcNow;
        var leases = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => limiter.AcquireAsync(key, KeyLimiterTests.Request(), ct).AsTask())).WaitAsync(Timeout, ct);
        var waited = DateTime.UtcNow - started;

        Assert.All(leases, lease =>
        {
            Assert.False(lease.IsAcquired);
            Assert.Equal(ErrorKind.Unavailable, lease.ToError().Kind);
            Assert.Equal(TimeSpan.FromSeconds(1), lease.RetryAfter);
        });
        Assert.True(waited < TimeSpan.FromSeconds(5), $"20 requests of one key took {waited} with storage hanging");
    }
}
