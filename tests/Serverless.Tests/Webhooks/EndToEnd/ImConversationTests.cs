using Xunit;

namespace Serverless.Tests.Webhooks.EndToEnd;

/// <summary>
/// What a chat sees of the relay (Telegram as the example platform): limits answered as a refusal rather than silence,
/// per-user limits inside one chat, the conversation carried from turn to turn and reset by <c>/new</c>, and group
/// chatter not meant for the bot left alone.
/// </summary>
public sealed class ImConversationTests(ImFlowHost host) : IClassFixture<ImFlowHost>
{
    private const string Refused = "Sorry, I can't answer right now: ";

    [Fact]
    public async Task KeyAtItsLimit_SecondMessage_RefusalSentAsTheReply()
    {
        await using var im = await ImScenario.StartAsync(host);
        var keyId = await im.CreateKeyAsync(new { rpd = 1 });
        var channel = await im.CreateChannelAsync(new TelegramDriver(), new Dictionary<string, object?> { ["keyId"] = keyId });
        var first = new ImText(1, Chat: 5, User: 1, "first", Group: true);
        var second = new ImText(2, Chat: 5, User: 2, "second", Group: true);

        await im.AcceptedAsync(channel, first);
        await im.RepliesAsync(channel.Driver, 1);
        await im.AcceptedAsync(channel, second);

        var replies = await im.RepliesAsync(channel.Driver, 2);
        Assert.Equal("You said: first", channel.Driver.TextOf(replies[0]));
        Assert.StartsWith(Refused, channel.Driver.TextOf(replies[1]), StringComparison.Ordinal);
        channel.Driver.AssertAnswers(replies[1], second);
        Assert.Single(im.Upstream.Requests);
        await im.PendingStateAsync(channel, second, "delivered");
    }

    [Fact]
    public async Task PerUserLimits_OneUserOverLimit_RefusedWhileAnotherInTheChatIsAnswered()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver(), new Dictionary<string, object?> { ["perUserLimits"] = new { rpd = 1 } });
        var ann = new ImText(1, Chat: 6, User: 11, "ann one", Group: true);
        var annAgain = new ImText(2, Chat: 6, User: 11, "ann two", Group: true);
        var bob = new ImText(3, Chat: 6, User: 12, "bob one", Group: true);

        foreach (var message in new[] { ann, annAgain, bob })
        {
            await im.AcceptedAsync(channel, message);
        }

        var replies = await im.RepliesAsync(channel.Driver, 3);
        Assert.Equal("You said: ann one", channel.Driver.TextOf(replies[0]));
        Assert.StartsWith(Refused, channel.Driver.TextOf(replies[1]), StringComparison.Ordinal);
        channel.Driver.AssertAnswers(replies[1], annAgain);
        Assert.Equal("You said: bob one", channel.Driver.TextOf(replies[2]));
        channel.Driver.AssertAnswers(replies[2], bob);
        Assert.Equal(2, im.Upstream.Requests.Count);
    }

    [Fact]
    public async Task FullAuditChannel_AnsweredMessage_AuditRowNamesThePlatform_BodiesHoldTheExchange()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver(), new Dictionary<string, object?> { ["audit"] = "full" });

        await im.AcceptedAsync(channel, new ImText(1, Chat: 9, User: 9, "audit me"));
        await im.RepliesAsync(channel.Driver, 1);

        var row = await Infrastructure.Eventually.ValueAsync(
            "the channel's audit row",
            async ct => (await host.Host.SendAsync(HttpMethod.Get, $"api/admin/audit?keyId={channel.KeyId}", ct: ct)).Json.GetProperty("data"),
            rows => rows.GetArrayLength() == 1,
            timeout: ImScenario.Wait);
        var entry = row[0];
        Assert.Equal("im:telegram", entry.GetProperty("clientAddress").GetString());
        Assert.True(entry.GetProperty("bodiesStored").GetBoolean());
        var detail = await host.Host.SendAsync(HttpMethod.Get, $"api/admin/audit/{channel.KeyId}/{entry.GetProperty("requestId").GetString()}", ct: TestContext.Current.CancellationToken);
        var bodies = detail.Json.GetProperty("bodies");
        Assert.Contains("audit me", bodies.GetProperty("request").GetString(), StringComparison.Ordinal);
        Assert.Contains("You said: audit me", bodies.GetProperty("response").GetString(), StringComparison.Ordinal);
        Assert.True(bodies.GetProperty("requestMatchesDigest").GetBoolean());
        Assert.True(bodies.GetProperty("responseMatchesDigest").GetBoolean());
    }

    [Fact]
    public async Task Conversation_SecondMessageSeesTheFirstTurn_NewStartsAfresh()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());

        await im.AcceptedAsync(channel, new ImText(1, Chat: 8, User: 8, "my name is Ann"));
        await im.RepliesAsync(channel.Driver, 1);
        await im.AcceptedAsync(channel, new ImText(2, Chat: 8, User: 8, "what is my name?"));
        await im.RepliesAsync(channel.Driver, 2);
        await im.AcceptedAsync(channel, new ImText(3, Chat: 8, User: 8, "/new"));
        await im.AcceptedAsync(channel, new ImText(4, Chat: 8, User: 8, "hello again"));

        var replies = await im.RepliesAsync(channel.Driver, 4);
        Assert.Equal(
            ["You said: my name is Ann", "You said: what is my name?", "Started a new conversation.", "You said: hello again"],
            replies.Select(channel.Driver.TextOf));
        var conversations = im.UpstreamConversations();
        Assert.Equal(3, conversations.Count);
        Assert.Equal([("user", "my name is Ann")], conversations[0]);
        Assert.Equal([("user", "my name is Ann"), ("assistant", "You said: my name is Ann"), ("user", "what is my name?")], conversations[1]);
        Assert.Equal([("user", "hello again")], conversations[2]);
    }

    [Fact]
    public async Task GroupMessage_WithoutMention_AcknowledgedNotAnswered()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());

        await im.AcceptedAsync(channel, new ImText(1, Chat: 9, User: 3, "just chatting", Group: true, Mention: false));
        await im.AcceptedAsync(channel, new ImText(2, Chat: 9, User: 3, "now you", Group: true));

        var reply = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal("You said: now you", channel.Driver.TextOf(reply));
        Assert.Equal([[("user", "now you")]], im.UpstreamConversations());
        Assert.Single(await im.PendingAsync(channel));
    }
}
