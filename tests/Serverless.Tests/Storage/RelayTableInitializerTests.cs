using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Storage;

public sealed class RelayTableInitializerTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task StartedAsync_NoTablesYet_CreatesEveryRelayTable()
    {
        var ct = TestContext.Current.CancellationToken;
        var prefix = StorageTestKit.UniquePrefix("init");
        await using var services = StorageTestKit.Services(StorageTestKit.Settings(azurite, prefix));
        var initializer = services.GetServices<IHostedService>().OfType<RelayTableInitializer>().Single();

        await initializer.StartedAsync(ct);
        var ready = await initializer.Ready.WaitAsync(StorageTestKit.Timeout, ct);

        Assert.True(ready);
        var found = new List<string>();
        await foreach (var table in new TableServiceClient(azurite.ConnectionString).QueryAsync(cancellationToken: ct))
        {
            if (table.Name.StartsWith(prefix, StringComparison.Ordinal))
            {
                found.Add(table.Name);
            }
        }

        Assert.Equal(RelayTableInitializer.Names.Select(n => prefix + n).Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
        await initializer.StopAsync(ct);
    }

    [Fact]
    public async Task GetAsync_WhileStartUpCreates_SharesTheOneCreation()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var services = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("race")));
        var initializer = services.GetRequiredService<RelayTableInitializer>();
        var tables = services.GetRequiredService<RelayTables>();

        await initializer.StartedAsync(ct);
        var usage = await tables.GetAsync(RelayTables.Usage, ct).AsTask().WaitAsync(StorageTestKit.Timeout, ct); // the first writer, racing start-up

        Assert.True(await initializer.Ready.WaitAsync(StorageTestKit.Timeout, ct));
        Assert.Empty(await Eventually.ReadPartitionAsync(usage, "nobody", ct)); // exists: the query answers, not 404
        await initializer.StopAsync(ct);
    }

    [Fact]
    public async Task StopAsync_StorageUnreachable_ReturnsWithoutWaitingForRetries()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("down"));
        // Port 9 (discard) on loopback: nothing listens; the SDK's retries would take seconds.
        settings["AzureWebJobsStorage"] = azurite.ConnectionString.Replace($":{azurite.TablePort}/", ":9/", StringComparison.Ordinal);
        await using var services = StorageTestKit.Services(settings);
        var initializer = services.GetRequiredService<RelayTableInitializer>();

        await initializer.StartedAsync(ct).WaitAsync(StorageTestKit.Timeout, ct);
        await initializer.StopAsync(ct).WaitAsync(StorageTestKit.Timeout, ct);

        Assert.False(await initializer.Ready.WaitAsync(StorageTestKit.Timeout, ct));
    }
}
