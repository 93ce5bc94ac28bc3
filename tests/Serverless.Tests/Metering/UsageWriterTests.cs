using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Audit;
using Serverless.Relay.Canonical;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage;
using Serverless.Relay.Telemetry;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Sessions;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Metering;

public sealed class UsageWriterTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private static readonly DateTimeOffset Start = new(2030, 5, 6, 7, 8, 9, 123, TimeSpan.Zero);
    private readonly ServiceProvider _services = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("usage")));

    public void Dispose() => _services.Dispose();

    private UsageWriter NewWriter(int capacity = 100_000) => NewWriter(_services, new UsageWriterOptions { Capacity = capacity });

    private static UsageWriter NewWriter(IServiceProvider services, UsageWriterOptions options) => new(
        services.GetRequiredService<RelayTables>(),
        services.GetRequiredService<AuditTrail>(),
        TimeProvider.System,
        Options.Create(options),
        services.GetRequiredService<RelayMetrics>(),
        NullLogger<UsageWriter>.Instance);

    /// <summary>Record <paramref name="i"/> of a key that audits in full: its digests, and bodies of these sizes.</summary>
    private static UsageRecord FullyAudited(int i, int requestBytes = 300, int responseBytes = 500)
    {
        var request = Enumerable.Range(0, requestBytes).Select(b => (byte)(b + i)).ToArray();
        var response = Enumerable.Range(0, responseBytes).Select(b => (byte)(b * 7 + i)).ToArray();
        return Record(i) with
        {
            Audit = new AuditFacts
            {
                RequestSha256 = Sha256Digest.Of(request),
                RequestBytes = request.Length,
                ResponseSha256 = Sha256Digest.Of(response),
                ResponseBytes = response.Length,
                Bodies = new AuditBodies(request, response, false),
            },
        };
    }

    private static UsageRecord Record(int i) => new()
    {
        RequestId = $"req-{i:D5}",
        KeyId = $"key_{i % 3:D16}",
        Owner = "team-a",
        AccountId = "acct_0000000000000001",
        ClientApi = "openai-chat",
        RequestedModel = "gpt-4o",
        UpstreamModel = "gpt-4o-2024-08-06",
        Provider = "openai",
        Stream = i % 2 == 0,
        Status = 200,
        Usage = new Usage { InputTokens = i, OutputTokens = 2L * i, CacheReadTokens = 3, CacheWriteTokens = 4, ReasoningTokens = 5 },
        LatencyMs = 12.5,
        TimeToFirstByteMs = i % 2 == 0 ? 3.25 : null,
        Timestamp = Start.AddMilliseconds(i / 10), // ten records share each millisecond
    };

    private async Task<List<TableEntity>> ReadAllAsync(CancellationToken ct)
    {
        var table = await _services.GetRequiredService<RelayTables>().GetAsync(RelayTables.Usage, ct).AsTask().WaitAsync(Timeout, ct);
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(cancellationToken: ct))
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task StopAsync_RecordsQueued_WritesExactlyThoseRowsBeforeReturning()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var writer = NewWriter();
        await writer.StartAsync(ct).WaitAsync(Timeout, ct);

        for (var i = 0; i < 457; i++)
        {
            writer.Record(Record(i));
        }

        await writer.StopAsync(ct).WaitAsync(Timeout, ct);

        var rows = await ReadAllAsync(ct);
        Assert.Equal(457, rows.Count);
        Assert.Equal(457, writer.Written);
        Assert.Equal(Enumerable.Range(0, 457).Select(i => $"req-{i:D5}"), rows.Select(r => r.GetString("RequestId")).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task StopAsync_NeverStarted_StillDrains()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var writer = NewWriter();
        writer.Record(Record(1));
        writer.Record(Record(2));

        await writer.StopAsync(ct).WaitAsync(Timeout, ct);

        Assert.Equal(2, (await ReadAllAsync(ct)).Count);
    }

    [Fact]
    public async Task Record_ChannelFull_OverflowsWithoutBlockingOrLoss()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var writer = NewWriter(capacity: 10);

        // Not started yet: the channel fills after 10 and the rest must go to the overflow queue, at once.
        var recording = Task.Run(() =>
        {
            for (var i = 0; i < 300; i++)
            {
                writer.Record(Record(i));
            }
        }, ct);
        await recording.WaitAsync(TimeSpan.FromSeconds(5), ct);
        await writer.StartAsync(ct).WaitAsync(Timeout, ct);
        await writer.StopAsync(ct).WaitAsync(Timeout, ct);

        Assert.Equal(300, (await ReadAllAsync(ct)).Count);
    }

    /// <summary>
    /// Full-audit records, with every new connection to blob storage as slow to open as a storage account far away:
    /// their bodies go up several at once, never more than <c>AuditUploads</c> (one at a time, they kept to the one
    /// connection the container's creation opened), and every audit row names a blob holding its own bodies.
    /// </summary>
    [Fact]
    public async Task StopAsync_FullAuditRecords_BodiesUploadedSeveralAtOnceWithinTheLimit_EveryRowNamesItsBlob()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var proxy = StorageProxy.Start(azurite.BlobPort);
        proxy.ConnectDelay = TimeSpan.FromMilliseconds(200);
        var settings = StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("uploads"));
        settings["AzureWebJobsStorage"] = proxy.Through(azurite.ConnectionString);
        await using var services = StorageTestKit.Services(settings);
        await using var writer = NewWriter(services, new UsageWriterOptions { AuditUploads = 3 });

        var records = Enumerable.Range(0, 12).Select(i => FullyAudited(i)).ToList();
        foreach (var record in records)
        {
            writer.Record(record);
        }

        await writer.StopAsync(ct).WaitAsync(Timeout, ct);

        Assert.InRange(proxy.PeakForwarded, 2, 3);
        var trail = services.GetRequiredService<AuditTrail>();
        foreach (var record in records)
        {
            var stored = await trail.GetAsync(record.KeyId, record.RequestId, ct).WaitAsync(Timeout, ct);
            Assert.NotNull(stored);
            Assert.NotNull(stored.Entry.BodiesBlob);
            Assert.Equal(record.Audit!.Bodies!.Request.ToArray(), stored.Request);
            Assert.Equal(record.Audit.Bodies.Response.ToArray(), stored.Response);
            Assert.True(stored.RequestMatches && stored.ResponseMatches);
        }
    }

    /// <summary>
    /// A record counts once whatever it holds, so full-audit bodies are counted by their bytes: two records whose
    /// bodies reach <c>MaxAuditBytes</c> close the audit door (far below <c>Capacity</c>, so the rows' door stays open)
    /// until they are written; records still taken meanwhile (requests in flight) are kept, and none is dropped.
    /// </summary>
    [Fact]
    public async Task AuditBacklogged_FullAuditBodiesWaitingReachMaxAuditBytes_UntilTheyAreWritten_RowsDoorOpen_NoRowDropped()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var writer = NewWriter(_services, new UsageWriterOptions { MaxAuditBytes = 64 * 1024 });

        // Not started: everything recorded waits.
        writer.Record(FullyAudited(1, requestBytes: 33_000, responseBytes: 2_000));
        Assert.False(writer.AuditBacklogged);
        writer.Record(FullyAudited(2, requestBytes: 33_000, responseBytes: 2_000));
        Assert.True(writer.AuditBacklogged);
        writer.Record(Record(3));
        Assert.True(writer.AuditBacklogged);
        Assert.False(writer.Backlogged);

        await writer.StartAsync(ct).WaitAsync(Timeout, ct);
        await Eventually.TrueAsync("the audit door open again", _ => Task.FromResult(!writer.AuditBacklogged), Timeout);

        await writer.StopAsync(ct).WaitAsync(Timeout, ct);
        Assert.Equal(new[] { "req-00001", "req-00002", "req-00003" }, (await ReadAllAsync(ct)).Select(r => r.GetString("RequestId")).Order(StringComparer.Ordinal));
        var trail = _services.GetRequiredService<AuditTrail>();
        Assert.Equal(33_000, (await trail.GetAsync(Record(2).KeyId, "req-00002", ct))?.Request?.Length);
    }

    [Fact]
    public async Task StopAsync_SameRequestTwiceInOneMillisecond_SplitsTransactionsAndUpserts()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var writer = NewWriter();
        writer.Record(Record(7));
        writer.Record(Record(7) with { Status = 500 });

        await writer.StopAsync(ct).WaitAsync(Timeout, ct);

        var row = Assert.Single(await ReadAllAsync(ct));
        Assert.Equal(500, row.GetInt32("Status"));
    }

    [Fact]
    public void ToEntity_Record_KeysAndEveryColumn()
    {
        var entity = UsageWriter.ToRow(Record(4) with { RequestId = "a/b#c", Error = "upstream said no" }).ToEntity();

        Assert.Equal("key_0000000000000001", entity.PartitionKey);
        Assert.Equal("20300506070809123-a_b_c", entity.RowKey);
        Assert.Equal("a/b#c", entity.GetString("RequestId"));
        Assert.Equal("key_0000000000000001", entity.GetString("KeyId"));
        Assert.Equal("team-a", entity.GetString("Owner"));
        Assert.Equal("acct_0000000000000001", entity.GetString("AccountId"));
        Assert.Equal("openai-chat", entity.GetString("ClientApi"));
        Assert.Equal("gpt-4o", entity.GetString("RequestedModel"));
        Assert.Equal("gpt-4o-2024-08-06", entity.GetString("UpstreamModel"));
        Assert.Equal("openai", entity.GetString("Provider"));
        Assert.True(entity.GetBoolean("Stream"));
        Assert.Equal(200, entity.GetInt32("Status"));
        Assert.Equal("upstream said no", entity.GetString("Error"));
        Assert.Equal(4L, entity.GetInt64("InputTokens"));
        Assert.Equal(8L, entity.GetInt64("OutputTokens"));
        Assert.Equal(3L, entity.GetInt64("CacheReadTokens"));
        Assert.Equal(4L, entity.GetInt64("CacheWriteTokens"));
        Assert.Equal(5L, entity.GetInt64("ReasoningTokens"));
        Assert.Equal(12.5, entity.GetDouble("LatencyMs"));
        Assert.Equal(3.25, entity.GetDouble("TimeToFirstByteMs"));
        Assert.Equal(Start, entity.GetDateTimeOffset("RequestTime"));
    }
}
