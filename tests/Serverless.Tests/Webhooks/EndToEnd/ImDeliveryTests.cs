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
}
