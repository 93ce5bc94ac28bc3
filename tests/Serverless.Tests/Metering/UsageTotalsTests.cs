using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Canonical;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Metering;

/// <summary>The daily totals the usage writer keeps beside the request rows.</summary>
public sealed class UsageTotalsTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly DateTimeOffset Day1 = new(2030, 5, 6, 23, 59, 0, TimeSpan.Zero);
    private readonly ServiceProvider _services = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("totals")));

    public void Dispose() => _services.Dispose();

    private static UsageRecord Record(int i, string keyId, DateTimeOffset at, int status = 200, decimal? cost = 0.001m) => new()
    {
        RequestId = $"req-{i}",
        KeyId = keyId,
        ClientApi = "openai-chat",
        RequestedModel = "m",
        Status = status,
        Usage = new Usage { InputTokens = 10, OutputTokens = 2, CacheReadTokens = 1, CacheWriteTokens = 1, ReasoningTokens = 1 },
        CostUsd = cost,
        Unpriced = cost is null,
        Timestamp = at,
    };

    [Fact]
    public async Task StopAsync_RecordsOfTwoKeysOverTwoDays_OneSummedRowPerKeyAndDay()
    {
        var ct = TestContext.Current.CancellationToken;
        var tables = _services.GetRequiredService<RelayTables>();
        var writer = new UsageWriter(tables, TimeProvider.System, Options.Create(new UsageWriterOptions()), NullLogger<UsageWriter>.Instance);
        await writer.StartAsync(ct);
        for (var i = 0; i < 150; i++)
        {
            // key a: 100 on day 1 (one refused, one unpriced); key b: 50 on day 2
            writer.Record(i < 100
                ? Record(i, "key_a", Day1, status: i == 0 ? 429 : 200, cost: i == 1 ? null : 0.001m)
                : Record(i, "key_b", Day1.AddMinutes(5)));
        }

        await writer.StopAsync(ct).WaitAsync(StorageTestKit.Timeout, ct);
        var totals = await new UsageTotals(tables).ReadAsync(null, new DateOnly(2030, 5, 6), new DateOnly(2030, 5, 7), ct);

        Assert.Equal(2, totals.Count);
        var a = totals[0];
        Assert.Equal(("key_a", new DateOnly(2030, 5, 6), 100L, 1L, 1000L, 200L, 100L, 100L, 100L, 0.099m, 1L), (a.KeyId, a.Date, a.Requests, a.Errors, a.InputTokens, a.OutputTokens, a.CacheReadTokens, a.CacheWriteTokens, a.ReasoningTokens, a.CostUsd, a.UnpricedRequests));
        var b = totals[1];
        Assert.Equal(("key_b", new DateOnly(2030, 5, 7), 50L, 0.05m), (b.KeyId, b.Date, b.Requests, b.CostUsd));
        Assert.Single(await new UsageTotals(tables).ReadAsync("key_b", new DateOnly(2030, 5, 7), new DateOnly(2030, 5, 7), ct));
        Assert.Empty(await new UsageTotals(tables).ReadAsync("key_b", new DateOnly(2030, 5, 6), new DateOnly(2030, 5, 6), ct));
    }

    [Fact]
    public async Task AddAsync_TwoWritersAtOnce_NothingLost()
    {
        var ct = TestContext.Current.CancellationToken;
        var totals = new UsageTotals(_services.GetRequiredService<RelayTables>());

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => totals.AddAsync(Enumerable.Range(0, 10).Select(i => Record(i, "key_c", Day1)), ct))).WaitAsync(StorageTestKit.Timeout, ct);

        var row = Assert.Single(await totals.ReadAsync("key_c", new DateOnly(2030, 5, 6), new DateOnly(2030, 5, 6), ct));
        Assert.Equal(80, row.Requests);
        Assert.Equal(0.08m, row.CostUsd);
    }
}
