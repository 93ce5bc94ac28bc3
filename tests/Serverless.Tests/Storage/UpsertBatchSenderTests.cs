using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Relay.Audit;
using Serverless.Relay.Canonical;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage;
using Serverless.Relay.Storage.Batches;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Storage;

/// <summary>
/// The relay's own <c>$batch</c> writer against Azurite: what it writes must read back exactly as what the table SDK's
/// <c>SubmitTransactionAsync</c> writes from the same entities, and a refusal must say which row.
/// </summary>
public sealed class UpsertBatchSenderTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly DateTimeOffset At = new(2030, 5, 6, 7, 8, 9, 123, TimeSpan.Zero);
    private readonly ServiceProvider _services = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("batch")));

    public void Dispose() => _services.Dispose();

    private RelayTables Tables => _services.GetRequiredService<RelayTables>();

    private static TableRow EveryType(string partition, string row) => new(partition, row, 13)
    {
        ["Text"] = "héllo \"quoted\" \u2028 \U0001F600",
        ["Empty"] = "",
        ["Flag"] = true,
        ["Int"] = -42,
        ["Long"] = 1L << 40,
        ["SmallLong"] = 7L,
        ["Double"] = 12.0, // integral: must stay a double, not come back as an Int32
        ["Fraction"] = 0.1 + 0.2,
        ["When"] = At,
        ["WhenLocal"] = new DateTimeOffset(2030, 5, 6, 9, 8, 9, 123, TimeSpan.FromHours(2)),
        ["Id"] = Guid.Parse("2f1c9a36-5b1e-4a7e-9a52-0c5d3f0b8e11"),
        ["Bytes"] = new byte[] { 0, 1, 2, 255 },
        ["Missing"] = null,
    };

    private static UsageRecord Usage(int i) => new()
    {
        RequestId = $"chatcmpl-{i:D4}",
        KeyId = "key_0000000000000001",
        Owner = "team-a",
        AccountId = "acct_1",
        ClientApi = "openai-chat",
        RequestedModel = "gpt-4o",
        UpstreamModel = i % 2 == 0 ? "gpt-4o-2024-08-06" : null,
        Provider = "openai",
        Stream = i % 2 == 0,
        Status = 200,
        Usage = new Usage { InputTokens = i, OutputTokens = 2L * i, CacheReadTokens = 3 },
        CostUsd = 0.0125m * i,
        LatencyMs = 12.5,
        TimeToFirstByteMs = i % 2 == 0 ? 3.25 : null,
        Timestamp = At.AddMilliseconds(i),
    };

    private static TableRow Audit(int i) => AuditTrail.ToRow(new AuditEntry
    {
        RequestId = $"chatcmpl-{i:D4}",
        KeyId = "key_0000000000000001",
        Owner = "team-a",
        ClientApi = "anthropic",
        Model = "claude-sonnet-4",
        Status = 200,
        At = At.AddMilliseconds(i),
        Facts = new AuditFacts { ClientAddress = "10.0.0.7", RequestSha256 = Sha256Digest.Parse(new string('a', 64)), RequestBytes = 1234, ResponseSha256 = Sha256Digest.Parse(new string('b', 64)), ResponseBytes = 99 },
    });

    public static TheoryData<string> Kinds => ["every-type", "usage", "audit"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task UpsertBatchAsync_SameEntities_ReadBackAsTheSdkWritesThem(string kind)
    {
        var ct = TestContext.Current.CancellationToken;
        List<TableRow> Make(string partition) => kind switch
        {
            "every-type" => [EveryType(partition, "r1"), EveryType(partition, "it's ü+2%"), EveryType(partition, "r 3")],
            "usage" => [.. Enumerable.Range(0, 100).Select(i => { var e = UsageWriter.ToRow(Usage(i)); e.PartitionKey = partition; return e; })],
            _ => [.. Enumerable.Range(0, 5).Select(i => { var e = Audit(i); e.PartitionKey = partition; return e; })],
        };

        var ours = Make("ours");
        var sdks = Make("sdks");
        await Tables.UpsertBatchAsync(RelayTables.Usage, ours, RowSlices.Shared, ct);
        var table = await Tables.GetAsync(RelayTables.Usage, ct);
        await table.SubmitTransactionAsync(sdks.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e.ToEntity())), ct);

        var read = await ReadAsync(table, ct);
        Assert.Equal(ours.Count, read.Count(e => e.PartitionKey == "ours"));
        foreach (var written in ours)
        {
            var mine = read.Single(e => e.PartitionKey == "ours" && e.RowKey == written.RowKey);
            var theirs = read.Single(e => e.PartitionKey == "sdks" && e.RowKey == written.RowKey);
            Assert.Equal(Columns(theirs), Columns(mine));
        }
    }

    [Fact]
    public async Task UpsertBatchAsync_RowExists_ReplacesItWhole()
    {
        var ct = TestContext.Current.CancellationToken;
        await Tables.UpsertBatchAsync(RelayTables.Usage, [new TableRow("p", "r", 2) { ["Old"] = "x", ["Kept"] = 1 }], RowSlices.Whole, ct);
        await Tables.UpsertBatchAsync(RelayTables.Usage, [new TableRow("p", "r", 1) { ["Kept"] = 2 }], RowSlices.Whole, ct);

        var row = (await ReadAsync(await Tables.GetAsync(RelayTables.Usage, ct), ct)).Single();
        Assert.Equal(2, row.GetInt32("Kept"));
        Assert.False(row.ContainsKey("Old"));
    }

    [Fact]
    public async Task UpsertBatchAsync_ServiceRefusesOneRow_NamesItAndWritesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var rows = Enumerable.Range(0, 5).Select(i => new TableRow("p", $"r{i}", 1) { ["Value"] = i == 3 ? new string('x', 40_000) : i }).ToList(); // row 3: over the service's 64 KiB per property

        var refused = await Assert.ThrowsAsync<TableBatchRejectedException>(() => Tables.UpsertBatchAsync(RelayTables.Usage, rows, RowSlices.Whole, ct).AsTask());

        Assert.Equal(3, refused.FailedIndex);
        Assert.InRange(refused.Status, 400, 499);
        Assert.Empty(await ReadAsync(await Tables.GetAsync(RelayTables.Usage, ct), ct));
    }

    [Fact]
    public async Task UpsertBatchAsync_WrongAccountKey_IsRefusedByTheService()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("badkey"));
        var good = settings["AzureWebJobsStorage"]!;
        settings["AzureWebJobsStorage"] = System.Text.RegularExpressions.Regex.Replace(good, "AccountKey=[^;]+", "AccountKey=" + Convert.ToBase64String(new byte[64]));
        using var services = StorageTestKit.Services(settings);
        var tables = services.GetRequiredService<RelayTables>();

        // The table is created through a correctly signed client first, so only the batch's own signature is wrong.
        await new TableServiceClient(good).GetTableClient(tables.NameOf(RelayTables.Usage)).CreateIfNotExistsAsync(ct);
        var refused = await Assert.ThrowsAnyAsync<RequestFailedException>(() => tables.UpsertBatchAsync(RelayTables.Usage, [new TableRow("p", "r", 1) { ["V"] = 1 }], RowSlices.Whole, ct).AsTask());

        Assert.Equal(403, refused.Status);
    }

    [Fact]
    public async Task UpsertBatchAsync_SharedAccessSignatureConnection_Writes()
    {
        var ct = TestContext.Current.CancellationToken;
        var sas = new TableServiceClient(azurite.ConnectionString).GenerateSasUri(
            Azure.Data.Tables.Sas.TableAccountSasPermissions.All, Azure.Data.Tables.Sas.TableAccountSasResourceTypes.All, DateTimeOffset.UtcNow.AddHours(1));
        var settings = StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("sas"));
        settings["AzureWebJobsStorage"] = $"TableEndpoint=http://127.0.0.1:{azurite.TablePort}/devstoreaccount1;SharedAccessSignature={sas.Query.TrimStart('?')}";
        using var services = StorageTestKit.Services(settings);
        var tables = services.GetRequiredService<RelayTables>();

        await tables.UpsertBatchAsync(RelayTables.Usage, [new TableRow("p", "r1", 1) { ["V"] = 1 }, new TableRow("p", "r2", 1) { ["V"] = 2 }], RowSlices.Whole, ct);

        var rows = await ReadAsync(await tables.GetAsync(RelayTables.Usage, ct), ct);
        Assert.Equal([1, 2], rows.Select(r => r.GetInt32("V")!.Value).Order());
    }

    [Fact]
    public async Task UsageWriter_OneRowRefused_WritesTheOthers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var writer = new UsageWriter(Tables, _services.GetRequiredService<AuditTrail>(), TimeProvider.System, Options.Create(new UsageWriterOptions()), _services.GetRequiredService<Serverless.Relay.Telemetry.RelayMetrics>(), Microsoft.Extensions.Logging.Abstractions.NullLogger<UsageWriter>.Instance);
        for (var i = 0; i < 4; i++)
        {
            writer.Record(Usage(i) with { Owner = i == 2 ? new string('o', 40_000) : "team-a" });
        }

        await writer.StopAsync(ct);

        var rows = await ReadAsync(await Tables.GetAsync(RelayTables.Usage, ct), ct);
        Assert.Equal(["chatcmpl-0000", "chatcmpl-0001", "chatcmpl-0003"], rows.Select(r => r.GetString("RequestId")).Order());
        Assert.Equal(3, writer.Written);
    }

    private static async Task<List<TableEntity>> ReadAsync(TableClient table, CancellationToken ct)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(cancellationToken: ct))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>A row's columns as the service typed them, for comparing two rows written differently.</summary>
    private static List<string> Columns(TableEntity row) =>
        [.. row.Where(p => p.Key is not ("PartitionKey" or "Timestamp" or "odata.etag"))
            .Select(p => $"{p.Key}={p.Value?.GetType().Name}:{Format(p.Value)}")
            .Order(StringComparer.Ordinal)];

    private static string Format(object? value) => value switch
    {
        byte[] bytes => Convert.ToBase64String(bytes),
        BinaryData data => Convert.ToBase64String(data.ToArray()),
        DateTimeOffset at => at.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture),
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "null",
    };
}
