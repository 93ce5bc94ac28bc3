using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Webhooks.EndToEnd;

/// <summary>How ImDeliver gets an answer out: split to the platform's limit in order, and after a platform 429 scheduled for later, once.</summary>
public sealed class ImDeliveryTests(ImFlowHost host) : IClassFixture<ImFlowHost>
{
    [Theory]
    [InlineData("telegram", 2000)]
    [InlineData("slack", 2000)]
    [InlineData("feishu", 5000)]
    [InlineData("dingtalk", 2000)]
    [InlineData("wecom", 2000)]
    public async Task LongAnswer_SplitUnderThePlatformLimit_PartsInOrder(string platform, int words)
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(ImDriver.For(platform));
        im.Upstream.Script = new UpstreamScript { ReplyWords = words };
        var message = new ImText(1, Chat: 3, User: 9, "tell me everything", Group: true);

        await im.AcceptedAsync(channel, message);

        await im.PendingStateAsync(channel, message, "delivered");
        var parts = im.Api.RequestsTo(channel.Driver.ReplyPath);
        Assert.True(parts.Count >= 2, $"{parts.Count} part(s)");
        Assert.All(parts, part =>
        {
            channel.Driver.AssertAnswers(part, message);
            Assert.InRange(channel.Driver.Measure(channel.Driver.TextOf(part)), 1, channel.Driver.MaxPart);
        });
        var said = string.Join(' ', parts.Select(channel.Driver.TextOf)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(1, words).Select(i => "w" + i), said);
    }

    [Fact]
    public async Task AnswerLongerThanAReplyMessageCarries_CutWithANote_AnsweredOnceAndDelivered()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());
        const int Words = 15_000; // about 100 KB of text: more than one queue message of local mode carries (64 KB)
        im.Upstream.Script = new UpstreamScript { ReplyWords = Words };
        var message = new ImText(1, Chat: 6, User: 9, "everything, please");

        await im.AcceptedAsync(channel, message);

        await im.PendingStateAsync(channel, message, "delivered");
        var said = string.Join(' ', im.Api.RequestsTo(channel.Driver.ReplyPath).Select(channel.Driver.TextOf));
        var note = said.IndexOf(Serverless.Webhooks.Processing.ImNotices.Cut.Trim(), StringComparison.Ordinal);
        Assert.True(note > 0, "no note that the answer was cut");
        var words = said[..note].Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(1, words.Length).Select(i => "w" + i), words);
        Assert.InRange(words.Length, Words / 2, Words - 1);
        Assert.Single(im.Upstream.Requests); // answered once: the reply was not refused, so the message was not handled again
    }

    public static TheoryData<string, PlatformAnswer> RateLimits => new()
    {
        { "telegram", new PlatformAnswer(429, """{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}""") },
        { "slack", SimulatedPlatformApi.RetryAfterHeader(429, """{"ok":false,"error":"ratelimited"}""", 1) },
    };

    [Theory]
    [MemberData(nameof(RateLimits))]
    public async Task PlatformRateLimited_FirstSend_ReplyScheduledAfterRetryAfterAndDeliveredOnce(string platform, PlatformAnswer limited)
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(ImDriver.For(platform));
        im.Api.Script(channel.Driver.ReplyPath, limited);
        var message = new ImText(1, Chat: 4, User: 9, "are you busy", Group: true);

        await im.AcceptedAsync(channel, message);

        await im.PendingStateAsync(channel, message, "delivered");
        var sends = await im.RepliesAsync(channel.Driver, 2);
        Assert.Equal(2, sends.Count);
        Assert.All(sends, send => Assert.Equal("You said: are you busy", channel.Driver.TextOf(send)));
        Assert.True(sends[1].ReceivedAt - sends[0].ReceivedAt >= TimeSpan.FromSeconds(0.9), $"sent again after {sends[1].ReceivedAt - sends[0].ReceivedAt}");

        // A second copy scheduled with the first would have become visible with it, before a later message is answered.
        await im.AcceptedAsync(channel, message with { Seq = 2, Text = "and now" });
        var all = await im.RepliesAsync(channel.Driver, 3);
        Assert.Equal(["You said: are you busy", "You said: are you busy", "You said: and now"], all.Select(channel.Driver.TextOf));
        Assert.Equal(2, im.Upstream.Requests.Count);
    }

    [Fact]
    public async Task PlatformRateLimited_MidReply_RestScheduledNoPartTwice()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());
        im.Upstream.Script = new UpstreamScript { ReplyWords = 2000 };
        im.Api.Script("/sendMessage", new PlatformAnswer(200, """{"ok":true,"result":{"message_id":2}}"""));
        im.Api.Script("/sendMessage", new PlatformAnswer(429, """{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"""));
        var message = new ImText(1, Chat: 5, User: 9, "a long story please");

        await im.AcceptedAsync(channel, message);

        await im.PendingStateAsync(channel, message, "delivered");
        var sends = im.Api.RequestsTo("/sendMessage");
        Assert.True(sends.Count >= 4, $"{sends.Count} send(s)");
        Assert.Equal(channel.Driver.TextOf(sends[1]), channel.Driver.TextOf(sends[2])); // the refused part, sent again
        Assert.True(sends[2].ReceivedAt - sends[1].ReceivedAt >= TimeSpan.FromSeconds(0.9));
        var delivered = sends.Where((_, i) => i != 1).Select(channel.Driver.TextOf);
        Assert.Equal(Enumerable.Range(1, 2000).Select(i => "w" + i), string.Join(' ', delivered).Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task PlatformServerError_FirstSend_DeliveredAgainByTheQueueOnce()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());
        im.Api.Script("/sendMessage", new PlatformAnswer(502, """{"ok":false,"error_code":502,"description":"Bad Gateway"}"""));
        var message = new ImText(1, Chat: 6, User: 9, "try harder");

        await im.AcceptedAsync(channel, message);

        await im.PendingStateAsync(channel, message, "delivered");
        var sends = im.Api.RequestsTo("/sendMessage");
        Assert.Equal(["You said: try harder", "You said: try harder"], sends.Select(channel.Driver.TextOf));
        Assert.Single(im.Upstream.Requests); // the queue redelivered the reply, not the question
    }

    [Fact]
    public async Task PlatformRefusesForGood_PendingFailedWithReason_NotSentAgain()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());
        im.Api.Script("/sendMessage", new PlatformAnswer(403, """{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"""));
        var message = new ImText(1, Chat: 7, User: 9, "are you there");

        await im.AcceptedAsync(channel, message);

        var row = await im.PendingStateAsync(channel, message, "failed");
        Assert.Equal("Telegram API answered 403", row.GetProperty("reason").GetString());
        await im.AcceptedAsync(channel, message with { Seq = 2, Text = "unblocked" });
        var replies = await im.RepliesAsync(channel.Driver, 2);
        Assert.Equal(["You said: are you there", "You said: unblocked"], replies.Select(channel.Driver.TextOf));
    }
}
