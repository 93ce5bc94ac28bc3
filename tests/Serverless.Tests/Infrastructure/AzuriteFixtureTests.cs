using Azure.Data.Tables;
using Xunit;

namespace Serverless.Tests.Infrastructure;

public sealed class AzuriteFixtureTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task ConnectionString_ReachesTableService_EntityRoundTrips()
    {
        var ct = TestContext.Current.CancellationToken;
        var table = new TableClient(azurite.ConnectionString, "fixturecheck");
        await table.CreateIfNotExistsAsync(ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
        await table.UpsertEntityAsync(new TableEntity("p", "r") { ["Value"] = 42 }, cancellationToken: ct).WaitAsync(TimeSpan.FromSeconds(10), ct);

        var read = await table.GetEntityAsync<TableEntity>("p", "r", cancellationToken: ct).WaitAsync(TimeSpan.FromSeconds(10), ct);

        Assert.Equal(42, read.Value.GetInt32("Value"));
    }
}
