using Microsoft.Extensions.DependencyInjection;
using Serverless.Jobs.PurgePending;
using Serverless.Relay.Functions;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Pending;
using Serverless.Webhooks.Platforms;
using Xunit;

namespace Serverless.Tests.Webhooks.EndToEnd;

/// <summary>
/// The at-least-once edges of the flow, staged through the running handler: a webhook whose instance died between
/// recording the message and handing it on, and an outbound message delivered again after it was sent.
/// </summary>
public sealed class ImRedeliveryTests(ImFlowHost host) : IClassFixture<ImFlowHost>
{
    [Fact]
    public async Task PlatformRetry_RowRecordedButNeverHandedOn_HandedOnAndAnswered()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());
        var message = new ImText(1, Chat: 31, User: 31, "did you get this?");

        // The first instance recorded the message and died before sending it to im-inbound (so no 2xx went back).
        var recorded = await host.Host.Services.GetRequiredService<PendingMessages>().TryAcceptAsync(channel.Id, new InboundMessage
        {
            MessageKey = channel.Driver.KeyOf(message),
            ConversationId = "31",
            UserId = "31",
            Text = message.Text,
            ReplyTo = new ReplyTarget { ChatId = "31", MessageId = TelegramDriver.MessageId(message).ToString(System.Globalization.CultureInfo.InvariantCulture) },
        }, host.Clock.GetUtcNow(), TestContext.Current.CancellationToken);
        Assert.True(recorded);

        await im.AcceptedAsync(channel, message); // the platform's retry

        var reply = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal("You said: did you get this?", channel.Driver.TextOf(reply));
        await im.PendingStateAsync(channel, message, "delivered");
    }

    [Theory]
    [InlineData("/new", "Started a new conversation.")]
    [InlineData("hello", "You said: hello")]
    public async Task OutboundDeliveredAgain_AfterTheMessageWasDelivered_NotSentTwice(string text, string answer)
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());
        var message = new ImText(1, Chat: 32, User: 32, text);
        await im.AcceptedAsync(channel, message);
        var sent = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal(answer, channel.Driver.TextOf(sent));
        await im.PendingStateAsync(channel, message, "delivered");

        // The same outbound message again, as the queue redelivers one whose completion was lost (a new id, so the
        // sender's duplicate detection does not stand in the way).
        var kind = text == "/new" ? OutboundKind.Notice : OutboundKind.Reply;
        var again = new OutboundReply(channel.Id, channel.Driver.KeyOf(message), new ReplyTarget { ChatId = "32", MessageId = "101" }, answer, kind);
        await host.Host.Services.GetRequiredService<IMessageSender>().SendAsync(
            ImMessageIds.Outbound(again, ImMessageIds.Session(channel.Id, "32"), "redelivered"), TestContext.Current.CancellationToken);

        // It is ahead of this later message of the same chat.
        await im.AcceptedAsync(channel, message with { Seq = 2, Text = "after" });
        var replies = await im.RepliesAsync(channel.Driver, 2);
        Assert.Equal([answer, "You said: after"], replies.Select(channel.Driver.TextOf));
    }

    [Fact]
    public async Task PendingNeverAnswered_PurgePendingExpiresIt_TimedOutNoticeReachesTheChat()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());
        var message = new ImText(1, Chat: 33, User: 33, "hello?");
        var ct = TestContext.Current.CancellationToken;

        // Accepted eleven minutes ago and lost on the way (never answered).
        await host.Host.Services.GetRequiredService<PendingMessages>().TryAcceptAsync(channel.Id, new InboundMessage
        {
            MessageKey = channel.Driver.KeyOf(message),
            ConversationId = "33",
            UserId = "33",
            Text = message.Text,
            ReplyTo = new ReplyTarget { ChatId = "33", MessageId = "101", UserId = "33" },
        }, host.Clock.GetUtcNow() - TimeSpan.FromMinutes(11), ct);

        // The local scheduler fires PurgePending every minute too: whichever run expires the row sends the one notice.
        await host.Host.Services.GetServices<ITimerFunction>().Single(f => f.Name == PurgePendingFunction.FunctionName).RunAsync(new TimerInfo(false, null, null), ct);

        var notice = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal(PurgePendingFunction.NoticeText, channel.Driver.TextOf(notice));
        channel.Driver.AssertAnswers(notice, message);
        var row = await im.PendingStateAsync(channel, message, "expired");
        Assert.Equal("not delivered within 10 minutes", row.GetProperty("reason").GetString());
    }
}
