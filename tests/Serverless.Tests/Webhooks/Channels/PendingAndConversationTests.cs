using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Relay.Limits;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Conversations;
using Serverless.Webhooks.Pending;
using Xunit;

namespace Serverless.Tests.Webhooks.Channels;

/// <summary>The pending-message state machine and the conversation history, on the stores the handler composes, against Azurite.</summary>
public sealed class PendingAndConversationTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero));
    private RelayHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await RelayHost.StartAsync(azurite, time: _time);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private PendingMessages Pending => _host.Services.GetRequiredService<PendingMessages>();

    private ConversationStore Conversations => _host.Services.GetRequiredService<ConversationStore>();

    private static string NewChannel() => StorageIds.New("chan");

    [Fact]
    public async Task TryAccept_SameKeyTwice_SecondIsADuplicate()
    {
        var ct = TestContext.Current.CancellationToken;
        var channel = NewChannel();

        Assert.True(await Pending.TryAcceptAsync(channel, ChannelAdminTests.Message("msgA+b/c=="), _time.GetUtcNow(), ct));
        Assert.False(await Pending.TryAcceptAsync(channel, ChannelAdminTests.Message("msgA+b/c=="), _time.GetUtcNow(), ct));
        Assert.True(await Pending.TryAcceptAsync(NewChannel(), ChannelAdminTests.Message("msgA+b/c=="), _time.GetUtcNow(), ct));

        var row = await Pending.GetAsync(channel, "msgA+b/c==", ct);
        Assert.Equal(PendingState.Queued, row!.State);
        Assert.Equal("https://oapi.dingtalk.com/robot/sendBySession?session=s", row.ReplyTo.SessionWebhook);
        Assert.Equal("user-1", row.UserId);
    }

    [Fact]
    public async Task Mark_ForwardOnly_FinalStatesStick()
    {
        var ct = TestContext.Current.CancellationToken;
        var channel = NewChannel();
        await Pending.TryAcceptAsync(channel, ChannelAdminTests.Message("1"), _time.GetUtcNow(), ct);

        Assert.Equal(new PendingTransition(true, PendingState.Answered), await Pending.MarkAsync(channel, "1", PendingState.Answered, null, ct));
        Assert.Equal(new PendingTransition(false, PendingState.Answered), await Pending.MarkAsync(channel, "1", PendingState.Queued, null, ct));
        Assert.Equal(new PendingTransition(true, PendingState.Failed), await Pending.MarkAsync(channel, "1", PendingState.Failed, "chat not found", ct));
        Assert.Equal(new PendingTransition(false, PendingState.Failed), await Pending.MarkAsync(channel, "1", PendingState.Delivered, null, ct));
        Assert.Equal(new PendingTransition(false, PendingState.Failed), await Pending.MarkAsync(channel, "1", PendingState.Expired, "late", ct));
        Assert.Equal(PendingTransition.NoRow, await Pending.MarkAsync(channel, "missing", PendingState.Delivered, null, ct));

        var row = await Pending.GetAsync(channel, "1", ct);
        Assert.Equal(PendingState.Failed, row!.State);
        Assert.Equal("chat not found", row.Reason);
    }

    [Fact]
    public async Task Mark_TwoRacingExpiries_ExactlyOneMoves()
    {
        var ct = TestContext.Current.CancellationToken;
        var channel = NewChannel();
        await Pending.TryAcceptAsync(channel, ChannelAdminTests.Message("1"), _time.GetUtcNow(), ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Pending.MarkAsync(channel, "1", PendingState.Expired, "timed out", ct)));

        Assert.Single(results, r => r.Moved);
        Assert.All(results, r => Assert.Equal(PendingState.Expired, r.State));
    }

    [Fact]
    public async Task Load_BoundedByCountAndTokens_OldestFirst()
    {
        var ct = TestContext.Current.CancellationToken;
        var channel = NewChannel();
        for (var i = 1; i <= 5; i++)
        {
            await Conversations.AppendAsync(channel, "chat/1", "question " + i, "answer " + i, ct); // same instant: order still kept
        }

        await Conversations.AppendAsync(channel, "chat/2", "other chat", "other answer", ct);

        var three = await Conversations.LoadAsync(channel, "chat/1", 3, 100_000, ct);
        Assert.Equal(["question 3", "question 4", "question 5"], three.Select(t => t.User));
        Assert.Equal("answer 5", three[^1].Assistant);

        var all = await Conversations.LoadAsync(channel, "chat/1", 20, 100_000, ct);
        Assert.Equal(5, all.Count);

        var estimator = _host.Services.GetRequiredService<TokenEstimator>();
        var perTurn = estimator.CountText("question 5") + estimator.CountText("answer 5");
        var byTokens = await Conversations.LoadAsync(channel, "chat/1", 20, 3 * perTurn - 1, ct);
        Assert.Equal(["question 4", "question 5"], byTokens.Select(t => t.User));
        Assert.Empty(await Conversations.LoadAsync(channel, "chat/1", 20, perTurn - 1, ct));
    }

    [Fact]
    public async Task Reset_OlderTurnsAreNotLoaded_NewOnesAre()
    {
        var ct = TestContext.Current.CancellationToken;
        var channel = NewChannel();
        await Conversations.AppendAsync(channel, "c", "before", "old", ct);

        await Conversations.ResetAsync(channel, "c", ct);
        Assert.Empty(await Conversations.LoadAsync(channel, "c", ct));

        _time.Advance(TimeSpan.FromSeconds(1));
        await Conversations.AppendAsync(channel, "c", "after", "new", ct);
        var turns = await Conversations.LoadAsync(channel, "c", ct);
        Assert.Equal(["after"], turns.Select(t => t.User));
    }

    [Fact]
    public async Task ChannelGet_CachedForTheWebhookPath_UntilTheTtlOrAnAdminChange()
    {
        var store = _host.Services.GetRequiredService<ChannelStore>();
        var ct = TestContext.Current.CancellationToken;
        var created = await _host.SendAsync(HttpMethod.Post, "api/admin/channels",
            """{"platform":"telegram","name":"bot","model":"m","credentials":{"botToken":"t","secretToken":"s"}}""", ct: ct);
        var id = created.Json.GetProperty("id").GetString()!;
        Assert.True((await store.GetAsync(id, ct))!.Enabled);

        // A write behind the store's back is not seen within the TTL (the read comes from memory), and is after it.
        await _host.Table(ChannelStore.Table).UpdateEntityAsync(new TableEntity("channel", id) { ["Enabled"] = false }, ETag.All, TableUpdateMode.Merge, ct);
        Assert.True((await store.GetAsync(id, ct))!.Enabled);
        _time.Advance(ChannelStore.CacheTtl);
        Assert.False((await store.GetAsync(id, ct))!.Enabled);

        // An admin change on this instance is seen at once.
        Assert.Equal(200, (await _host.SendAsync(HttpMethod.Patch, "api/admin/channels/" + id, """{"name":"renamed"}""", ct: ct)).Status);
        Assert.Equal("renamed", (await store.GetAsync(id, ct))!.Name);
        Assert.Null(await store.GetAsync("not-an-id", ct));
    }
}
