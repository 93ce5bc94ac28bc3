using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Canonical;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage;
using Serverless.Relay.Telemetry;
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

    private static UsageRecord Record(int i, string keyId, DateTimeOffset at, int status = 200, decimal? cost = 0.001m, string model = "m") => new()
    {
        RequestId = $"req-{i}",
        KeyId = keyId,
        Owner = "team",
        AccountId = "acct_1",
        ClientApi = "openai-chat",
        RequestedModel = model,
        Status = status,
        Usage = new Usage { InputTokens = 10, OutputTokens = 2, CacheReadTokens = 1, CacheWriteTokens = 1, ReasoningTokens = 1 },
        CostUsd = cost ?? 0,
        Unpriced = cost is null,
        LatencyMs = 10 * (i + 1),
        TimeToFirstByteMs = i,
        Timestamp = at,
    };

    [Fact]
    public void Accumulate_ConsecutiveRecordsChangingOneIdentityPartEach_OneSumPerHourKeyModelAndAccount()
    {
        // Each record differs from the one before it in one part only (model, account, key, hour), then repeats an earlier row.
        UsageRecord[] records =
        [
            Record(0, "key_a", Day1),
            Record(1, "key_a", Day1, model: "m2"),
            Record(2, "key_a", Day1, model: "m2") with { AccountId = "acct_2" },
            Record(3, "key_b", Day1, model: "m2") with { AccountId = "acct_2" },
            Record(4, "key_b", Day1.AddMinutes(1), model: "m2") with { AccountId = "acct_2" },
            Record(5, "key_a", Day1, status: 500),
        ];
        var sums = new Dictionary<(string, string), UsageSum>();

        UsageTotals.Accumulate(sums, records);
        UsageTotals.Accumulate(sums, [Record(6, "key_a", Day1.AddSeconds(30), cost: null)]);

        var totals = sums.Values.Select(sum => sum.ToTotal()).OrderBy(t => (t.Hour, t.KeyId, t.Model, t.AccountId)).ToList();
        Assert.Equal(
            [
                (Day1.AddMinutes(-59), "key_a", "m", "acct_1", 3L, 1L, 1L),
                (Day1.AddMinutes(-59), "key_a", "m2", "acct_1", 1L, 0L, 0L),
                (Day1.AddMinutes(-59), "key_a", "m2", "acct_2", 1L, 0L, 0L),
                (Day1.AddMinutes(-59), "key_b", "m2", "acct_2", 1L, 0L, 0L),
                (Day1.AddMinutes(1), "key_b", "m2", "acct_2", 1L, 0L, 0L),
            ],
            totals.Select(t => (t.Hour, t.KeyId, t.Model, t.AccountId, t.Requests, t.Errors, t.UnpricedRequests)));
        var first = totals[0];
        Assert.Equal((30L, 0.002m, 3L, 3L), (first.InputTokens, first.CostUsd, first.Latency.Count, first.TimeToFirstByte.Count));
        Assert.Equal(sums.Keys.Select(k => k.Item1).Distinct().Order(StringComparer.Ordinal), ["2030050623", "2030050700"]);
    }

    [Fact]
    public async Task Writer_TotalsIntervalNotYetDue_RowsWrittenTotalsHeldThenAddedOnceOnStop()
    {
        var ct = TestContext.Current.CancellationToken;
        var tables = _services.GetRequiredService<RelayTables>();
        var writer = new UsageWriter(tables, _services.GetRequiredService<Serverless.Relay.Audit.AuditTrail>(), TimeProvider.System, Options.Create(new UsageWriterOptions { TotalsInterval = TimeSpan.FromHours(1) }), _services.GetRequiredService<RelayMetrics>(), NullLogger<UsageWriter>.Instance);
        await writer.StartAsync(ct);

        // Three batches: each waits until the previous one's rows are in the table.
        for (var batch = 0; batch < 3; batch++)
        {
            for (var i = 0; i < 10; i++)
            {
                writer.Record(Record((batch * 10) + i, "key_held", Day1));
            }

            var expected = (batch + 1) * 10;
            await Eventually.TrueAsync($"{expected} usage rows", _ => Task.FromResult(writer.Written >= expected));
        }

        Assert.Empty(await new UsageTotals(tables).ReadAsync("key_held", Day1, Day1, ct));

        await writer.StopAsync(ct).WaitAsync(StorageTestKit.Timeout, ct);

        var total = Assert.Single(await new UsageTotals(tables).ReadAsync("key_held", Day1, Day1, ct));
        Assert.Equal((30L, 300L, 60L), (total.Requests, total.InputTokens, total.OutputTokens));
    }

    [Fact]
    public async Task Writer_TotalsIntervalElapsesWithNoNewRecord_TotalsAddedWithoutStop()
    {
        var tables = _services.GetRequiredService<RelayTables>();
        await using var writer = new UsageWriter(tables, _services.GetRequiredService<Serverless.Relay.Audit.AuditTrail>(), TimeProvider.System, Options.Create(new UsageWriterOptions { TotalsInterval = TimeSpan.FromMilliseconds(300) }), _services.GetRequiredService<RelayMetrics>(), NullLogger<UsageWriter>.Instance);
        await writer.StartAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 5; i++)
        {
            writer.Record(Record(i, "key_timed", Day1));
        }

        var totals = await Eventually.ValueAsync(
            "the hourly total of key_timed",
            token => new UsageTotals(tables).ReadAsync("key_timed", Day1, Day1, token),
            rows => rows.Count == 1 && rows[0].Requests == 5);

        Assert.Equal(50L, totals[0].InputTokens);
    }

    [Fact]
    public async Task StopAsync_RecordsOfTwoKeysOverTwoHours_OneSummedRowPerHourKeyModelAccount()
    {
        var ct = TestContext.Current.CancellationToken;
        var tables = _services.GetRequiredService<RelayTables>();
        var writer = new UsageWriter(tables, _services.GetRequiredService<Serverless.Relay.Audit.AuditTrail>(), TimeProvider.System, Options.Create(new UsageWriterOptions()), _services.GetRequiredService<RelayMetrics>(), NullLogger<UsageWriter>.Instance);
        await writer.StartAsync(ct);
        for (var i = 0; i < 150; i++)
        {
            // key a: 100 in hour 23 of day 1 (one refused, one unpriced, two models); key b: 50 in hour 0 of day 2
            writer.Record(i < 100
                ? Record(i, "key_a", Day1, status: i == 0 ? 429 : 200, cost: i == 1 ? null : 0.001m, model: i % 2 == 0 ? "m" : "vendor/m2")
                : Record(i, "key_b", Day1.AddMinutes(5)));
        }

        await writer.StopAsync(ct).WaitAsync(StorageTestKit.Timeout, ct);
        var totals = await new UsageTotals(tables).ReadAsync(null, Day1, Day1.AddHours(1), ct);

        Assert.Equal(3, totals.Count);
        var a = totals.Where(t => t.KeyId == "key_a").Aggregate((x, y) => x.Plus(y));
        Assert.Equal((100L, 1L, 1000L, 200L, 100L, 100L, 100L, 0.099m, 1L), (a.Requests, a.Errors, a.InputTokens, a.OutputTokens, a.CacheReadTokens, a.CacheWriteTokens, a.ReasoningTokens, a.CostUsd, a.UnpricedRequests));
        Assert.Equal(["m", "vendor/m2"], totals.Where(t => t.KeyId == "key_a").Select(t => t.Model).Order(StringComparer.Ordinal));
        var b = Assert.Single(totals, t => t.KeyId == "key_b");
        Assert.Equal((new DateTimeOffset(2030, 5, 7, 0, 0, 0, TimeSpan.Zero), 50L, 0.05m, "team", "acct_1"), (b.Hour, b.Requests, b.CostUsd, b.Owner, b.AccountId));
        Assert.Single(await new UsageTotals(tables).ReadAsync("key_b", Day1, Day1.AddHours(1), ct));
        Assert.Empty(await new UsageTotals(tables).ReadAsync("key_b", Day1, Day1, ct));
    }

    /// <summary>
    /// The longest model a client may name, in CJK text (three bytes a character), makes names whose encoding passes
    /// storage's 1 KiB row key: those are keyed by their hash, summed in one row that reads back the model whole, apart
    /// from a model one character different.
    /// </summary>
    [Fact]
    public async Task AddAsync_LongestModelInCjk_SummedInOneRowReadBackWhole()
    {
        var ct = TestContext.Current.CancellationToken;
        var totals = new UsageTotals(_services.GetRequiredService<RelayTables>());
        var model = new string('模', RequestHead.MaxModelLength);
        var other = model[..^1] + "型";

        await totals.AddAsync(Enumerable.Range(0, 3).Select(i => Record(i, "key_d", Day1, model: model)), ct).WaitAsync(StorageTestKit.Timeout, ct);
        await totals.AddAsync([Record(3, "key_d", Day1, model: model), Record(4, "key_d", Day1, model: other)], ct).WaitAsync(StorageTestKit.Timeout, ct);

        var rows = await totals.ReadAsync("key_d", Day1, Day1, ct);
        Assert.Equal(2, rows.Count);
        Assert.Equal(4, Assert.Single(rows, r => r.Model == model).Requests);
        Assert.Equal(1, Assert.Single(rows, r => r.Model == other).Requests);
    }

    /// <summary>
    /// A failure part of the way through a round leaves in the queue the sums not yet added, and only those: the
    /// writer retries with that queue, so no sum is added twice.
    /// </summary>
    [Fact]
    public async Task AddAsync_FailsPartOfTheWay_AddedSumsLeaveTheQueue_AgainAddsOnlyTheRest()
    {
        var ct = TestContext.Current.CancellationToken;
        var totals = new UsageTotals(_services.GetRequiredService<RelayTables>());
        var hour = UsageTotal.HourOf(Day1);
        UsageTotal Total(string model, string owner = "team") => new() { Hour = hour, KeyId = "key_e", Owner = owner, Model = model, Requests = 1 };
        var unstorable = Total("m2", owner: new string('o', 40_000)); // past storage's 64 KiB for one value
        var sums = new Queue<UsageTotal>([Total("m1"), unstorable, Total("m3")]);

        await Assert.ThrowsAsync<Azure.RequestFailedException>(() => totals.AddAsync(sums, ct).WaitAsync(StorageTestKit.Timeout, ct));
        Assert.Equal(["m2", "m3"], sums.Select(s => s.Model));
        sums.Dequeue();
        await totals.AddAsync(sums, ct).WaitAsync(StorageTestKit.Timeout, ct);

        Assert.Empty(sums);
        var rows = await totals.ReadAsync("key_e", Day1, Day1, ct);
        Assert.Equal(["m1", "m3"], rows.Select(r => r.Model).Order(StringComparer.Ordinal));
        Assert.All(rows, r => Assert.Equal(1, r.Requests));
    }

    [Fact]
    public async Task AddAsync_TwoWritersAtOnce_NothingLost()
    {
        var ct = TestContext.Current.CancellationToken;
        var totals = new UsageTotals(_services.GetRequiredService<RelayTables>());

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => totals.AddAsync(Enumerable.Range(0, 10).Select(i => Record(i, "key_c", Day1)), ct))).WaitAsync(StorageTestKit.Timeout, ct);

        var row = Assert.Single(await totals.ReadAsync("key_c", Day1, Day1, ct));
        Assert.Equal(80, row.Requests);
        Assert.Equal(0.08m, row.CostUsd);
        Assert.Equal(80, row.Latency.Count);
    }

    [Theory]
    [InlineData(0.5, 50.0)]
    [InlineData(0.99, 100.0)]
    public void Percentile_HundredLatencies_WithinOneBucket(double quantile, double exact)
    {
        var histogram = new LatencyHistogram();
        for (var ms = 1; ms <= 100; ms++)
        {
            histogram.Add(ms);
        }

        Assert.InRange(histogram.Percentile(quantile)!.Value, exact, exact * 1.25);
        Assert.Equal(histogram.ToString(), LatencyHistogram.Parse(histogram.ToString()).ToString());
    }
}
