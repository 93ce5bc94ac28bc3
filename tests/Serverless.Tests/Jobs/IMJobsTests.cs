using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Jobs.PurgePending;
using Serverless.Relay.Audit;
using Serverless.Relay.Functions;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Webhooks.Channels;
using Serverless.Webhooks.Conversations;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Pending;
using Serverless.Webhooks.Platforms;
using Xunit;

namespace Serverless.Tests.Jobs;

/// <summary>
/// PurgePending and Retention on a fake clock, against Azurite, with the handler in custom-handler mode (so no local
/// scheduler fires them behind the test's back): called as timer functions and through the JSON invocation protocol.
/// </summary>
public sealed class IMJobsTests(AzuriteFixture azurite)
{
    private const string TimerBody = """{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2030-01-01T00:00:00+00:00","Next":"2030-01-01T00:01:00+00:00","LastUpdated":"2030-01-01T00:00:00+00:00"},"IsPastDue":false}},"Metadata":{}}""";
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimerInfo Timer = new(false, null, null);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly RecordingMessageSender _sender = new();

    [Fact]
    public async Task PurgePending_StaleUndeliveredRows_ExpiredWithOneNoticeEach_RerunSendsNone()
    {
        await using var host = await StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var pending = host.Services.GetRequiredService<PendingMessages>();
        var channel = StorageIds.New("chan");
        await pending.TryAcceptAsync(channel, ChannelAdminTests.Message("queued"), Start, ct);
        await pending.TryAcceptAsync(channel, ChannelAdminTests.Message("answered", "chat-2"), Start, ct);
        await pending.MarkAsync(channel, "answered", PendingState.Answered, null, ct);
        await pending.TryAcceptAsync(channel, ChannelAdminTests.Message("delivered"), Start, ct);
        await pending.MarkAsync(channel, "delivered", PendingState.Delivered, null, ct);
        await pending.TryAcceptAsync(channel, ChannelAdminTests.Message("recent"), Start.AddMinutes(9), ct);
        await pending.TryAcceptAsync(channel, WithExpiredSessionWebhook(ChannelAdminTests.Message("dingtalk")), Start, ct);
        await pending.TryAcceptAsync(channel, ChannelAdminTests.Message("ancient"), Start.AddDays(-8), ct);
        _time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        await Function(host, PurgePendingFunction.FunctionName).RunAsync(Timer, ct);

        Assert.Equal(PendingState.Expired, (await pending.GetAsync(channel, "queued", ct))!.State);
        Assert.Equal(PendingState.Expired, (await pending.GetAsync(channel, "answered", ct))!.State);
        Assert.Equal(PendingState.Expired, (await pending.GetAsync(channel, "dingtalk", ct))!.State);
        Assert.Equal("not delivered within 10 minutes", (await pending.GetAsync(channel, "queued", ct))!.Reason);
        Assert.Equal(PendingState.Delivered, (await pending.GetAsync(channel, "delivered", ct))!.State);
        Assert.Equal(PendingState.Queued, (await pending.GetAsync(channel, "recent", ct))!.State);
        Assert.Null(await pending.GetAsync(channel, "ancient", ct));

        var notices = _sender.Sent.OrderBy(m => m.MessageId, StringComparer.Ordinal).ToArray();
        Assert.Equal([$"{channel}:answered:expired", $"{channel}:queued:expired"], notices.Select(m => m.MessageId));
        // The chat's own session (channel:conversation), so the notice is ordered with the chat's replies.
        Assert.Equal([ImMessageIds.Session(channel, "chat-2"), ImMessageIds.Session(channel, "chat-1")], notices.Select(m => m.SessionId));
        Assert.All(notices, m => Assert.Equal(ImQueues.Outbound, m.Queue));
        var reply = ImMessages.ReadOutbound(notices[1].Body);
        Assert.Equal(new OutboundReply(channel, "queued", ChannelAdminTests.Message("queued").ReplyTo, PurgePendingFunction.NoticeText, OutboundKind.Notice), reply);

        await Function(host, PurgePendingFunction.FunctionName).RunAsync(Timer, ct);
        Assert.Equal(2, _sender.Sent.Count);
    }

    [Fact]
    public async Task PurgePending_JsonProtocol_ExpiresAndAnswersTheHost()
    {
        await using var host = await StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var pending = host.Services.GetRequiredService<PendingMessages>();
        var channel = StorageIds.New("chan");
        await pending.TryAcceptAsync(channel, ChannelAdminTests.Message("m1"), Start, ct);
        _time.Advance(TimeSpan.FromMinutes(11));

        var (status, body) = await InvokeAsync(host, PurgePendingFunction.FunctionName);

        Assert.Equal(200, status);
        Assert.Equal("""{"Outputs":{},"Logs":[],"ReturnValue":null}""", body);
        Assert.Equal(PendingState.Expired, (await pending.GetAsync(channel, "m1", ct))!.State);
        Assert.Equal($"{channel}:m1:expired", Assert.Single(_sender.Sent).MessageId);
    }

    [Fact]
    public async Task Retention_DeletesOldUsageTurnsAndPending_KeepsHourlyTotalsAndRecentRows()
    {
        await using var host = await StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var keyId = StorageIds.New("key");
        var now = Start.AddDays(500);
        await WriteUsageAsync(host, keyId, now.AddDays(-401), 3);
        await WriteUsageAsync(host, keyId, now.AddDays(-399), 1);
        var totals = host.Table(RelayTables.UsageTotals);
        var oldHour = now.AddDays(-450).UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);
        await totals.UpsertEntityAsync(new TableEntity(oldHour, "total") { ["Requests"] = 3L }, cancellationToken: ct);

        var conversations = host.Services.GetRequiredService<ConversationStore>();
        var pending = host.Services.GetRequiredService<PendingMessages>();
        var channel = StorageIds.New("chan");
        _time.SetUtcNow(now.AddDays(-31));
        await conversations.AppendAsync(channel, "chat", "old question", "old answer", ct);
        _time.SetUtcNow(now.AddDays(-1));
        await conversations.AppendAsync(channel, "chat", "new question", "new answer", ct);
        await pending.TryAcceptAsync(channel, ChannelAdminTests.Message("old"), now.AddDays(-8), ct);
        await pending.TryAcceptAsync(channel, ChannelAdminTests.Message("new"), now.AddDays(-1), ct);
        _time.SetUtcNow(now);

        var (status, body) = await InvokeAsync(host, "Retention");

        Assert.Equal(200, status);
        Assert.Equal("""{"Outputs":{},"Logs":[],"ReturnValue":null}""", body);
        var usage = await Eventually.ReadPartitionAsync(host.Table(RelayTables.Usage), keyId, ct);
        Assert.Equal([now.AddDays(-399)], usage.Select(r => r.GetDateTimeOffset("RequestTime")!.Value));
        Assert.Equal(3L, (await totals.GetEntityAsync<TableEntity>(oldHour, "total", cancellationToken: ct)).Value.GetInt64("Requests"));
        var turns = await Eventually.ReadPartitionAsync(await conversations.GetTableAsync(ct), ConversationStore.PartitionOf(channel, "chat"), ct);
        Assert.Equal(["new question"], turns.Select(t => t.GetString("User")));
        Assert.Null(await pending.GetAsync(channel, "old", ct));
        Assert.NotNull(await pending.GetAsync(channel, "new", ct));
    }

    [Fact]
    public async Task Retention_RunHitsItsDeadline_LeavesTheRest_NextRunFinishes()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Retention:MaxRunTime"] = "00:00:00" });
        var ct = TestContext.Current.CancellationToken;
        var keyId = StorageIds.New("key");
        var now = Start.AddDays(500);
        await WriteUsageAsync(host, keyId, now.AddDays(-420), 150);
        await WriteUsageAsync(host, keyId, now.AddDays(-1), 1);
        _time.SetUtcNow(now);
        var retention = Function(host, "Retention");

        await retention.RunAsync(Timer, ct);
        Assert.Equal(51, (await Eventually.ReadPartitionAsync(host.Table(RelayTables.Usage), keyId, ct)).Count);

        await retention.RunAsync(Timer, ct);
        var left = await Eventually.ReadPartitionAsync(host.Table(RelayTables.Usage), keyId, ct);
        Assert.Equal([now.AddDays(-1)], left.Select(r => r.GetDateTimeOffset("RequestTime")!.Value));
    }

    [Fact]
    public async Task Retention_AuditRowsAndBodiesPastAuditDays_Deleted_RecentOnesKeptAndReadable()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Retention:AuditDays"] = "30" });
        var ct = TestContext.Current.CancellationToken;
        var trail = host.Services.GetRequiredService<AuditTrail>();
        var keyId = StorageIds.New("key");
        var now = Start.AddDays(100);
        var old = await WriteAuditAsync(trail, host, keyId, now.AddDays(-31));
        var older = await WriteAuditAsync(trail, host, keyId, now.AddDays(-300));
        var recent = await WriteAuditAsync(trail, host, keyId, now.AddDays(-29));
        _time.SetUtcNow(now);

        await Function(host, "Retention").RunAsync(Timer, ct);

        var rows = await Eventually.ReadPartitionAsync(host.Table(RelayTables.Audit), keyId, ct);
        Assert.Equal([recent], rows.Select(r => r.GetString("RequestId")));
        var container = new Azure.Storage.Blobs.BlobContainerClient(host.ConnectionString, host.TablePrefix.ToLowerInvariant() + RelayBlobs.Audit);
        var blobs = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(cancellationToken: ct))
        {
            blobs.Add(blob.Name);
        }

        Assert.Equal([AuditKeys.BlobNameOf(now.AddDays(-29), recent)], blobs);
        Assert.DoesNotContain(blobs, b => b.EndsWith(old, StringComparison.Ordinal) || b.EndsWith(older, StringComparison.Ordinal));
        var kept = await trail.GetAsync(keyId, recent, ct);
        Assert.Equal("request " + recent, Encoding.UTF8.GetString(kept!.Request!));
        Assert.True(kept.RequestMatches);
    }

    private static async Task<string> WriteAuditAsync(AuditTrail trail, RelayHost host, string keyId, DateTimeOffset at)
    {
        var requestId = AuditKeys.NewRequestId(at);
        var request = Encoding.UTF8.GetBytes("request " + requestId);
        var entry = new AuditEntry
        {
            RequestId = requestId,
            KeyId = keyId,
            ClientApi = "openai-chat",
            Model = "m",
            Status = 200,
            At = at,
            Facts = new AuditFacts { RequestSha256 = Sha256Digest.Of(request), RequestBytes = request.Length },
        };
        var blob = await trail.SaveBodiesAsync(entry, new AuditBodies(request, "response"u8.ToArray(), false), TestContext.Current.CancellationToken);
        await host.Table(RelayTables.Audit).UpsertEntityAsync(AuditTrail.ToRow(entry with { BodiesBlob = blob }).ToEntity(), cancellationToken: TestContext.Current.CancellationToken);
        return requestId;
    }

    private Task<RelayHost> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? [])
        {
            ["FUNCTIONS_CUSTOMHANDLER_PORT"] = HandlerProcess.FreePort().ToString(CultureInfo.InvariantCulture),
        };
        return RelayHost.StartAsync(azurite, all, _time, services => services.AddSingleton<IMessageSender>(_sender));
    }

    private static ITimerFunction Function(RelayHost host, string name) =>
        host.Services.GetServices<ITimerFunction>().Single(f => f.Name == name);

    private static async Task<(int Status, string Body)> InvokeAsync(RelayHost host, string function)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = host.CreateClient();
        using var answer = await client.PostAsync(function, new StringContent(TimerBody, Encoding.UTF8, "application/json"), ct);
        return ((int)answer.StatusCode, await answer.Content.ReadAsStringAsync(ct));
    }

    private static async Task WriteUsageAsync(RelayHost host, string keyId, DateTimeOffset at, int count)
    {
        var table = host.Table(RelayTables.Usage);
        var rows = Enumerable.Range(0, count).Select(i => UsageWriter.ToRow(new UsageRecord
        {
            RequestId = $"req-{at.Ticks}-{i}",
            KeyId = keyId,
            ClientApi = "openai-chat",
            RequestedModel = "m",
            Timestamp = at,
        }).ToEntity()).ToArray();
        foreach (var chunk in rows.Chunk(100))
        {
            await table.SubmitTransactionAsync(chunk.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e)), TestContext.Current.CancellationToken);
        }
    }

    private static InboundMessage WithExpiredSessionWebhook(InboundMessage message) =>
        message with { ReplyTo = message.ReplyTo with { SessionWebhookExpiresAt = Start.AddMinutes(5) } };
}
