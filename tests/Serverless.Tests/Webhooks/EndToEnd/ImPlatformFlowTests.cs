using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Webhooks.EndToEnd;

/// <summary>
/// Each platform end to end through the running handler in local mode: a signed webhook is acknowledged within the
/// platforms' deadline, the LLM's answer comes back through the platform's API threaded as the platform does it, the
/// pending row ends delivered and the channel's key has a usage row that names the channel. Retries and forgeries
/// get no second reply.
/// </summary>
public sealed class ImPlatformFlowTests(ImFlowHost host) : IClassFixture<ImFlowHost>
{
    /// <summary>Slack and Feishu give up on a webhook after 3 s (WeCom 5 s).</summary>
    private static readonly TimeSpan AckDeadline = TimeSpan.FromSeconds(3);

    public static TheoryData<string> Platforms => ["telegram", "slack", "feishu", "dingtalk", "wecom"];

    [Theory]
    [MemberData(nameof(Platforms))]
    public async Task Webhook_SignedMessage_ReplyThreadedDeliveredAndMetered(string platform)
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(ImDriver.For(platform));
        var message = new ImText(1, Chat: 7, User: 42, "hello there", Group: true);

        var answer = await im.PostAsync(channel, message);

        Assert.Equal(200, answer.Status);
        Assert.True(answer.Elapsed < AckDeadline, $"the webhook took {answer.Elapsed}");
        var reply = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal("You said: hello there", channel.Driver.TextOf(reply));
        channel.Driver.AssertAnswers(reply, message);
        Assert.Null((await im.PendingStateAsync(channel, message, "delivered")).GetProperty("reason").GetString());
        var usage = Assert.Single(await host.Host.UsageRowsAsync(channel.KeyId, 1, ImScenario.Wait));
        Assert.Equal($"im:{platform}:{channel.Id}", usage.GetString("ClientApi"));
        Assert.Equal(200, usage.GetInt32("Status"));
        Assert.Equal(im.Model, usage.GetString("RequestedModel"));
    }

    [Theory]
    [MemberData(nameof(Platforms))]
    public async Task Webhook_PlatformRetriesMessage_AcknowledgedAndAnsweredOnce(string platform)
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(ImDriver.For(platform));
        var message = new ImText(1, Chat: 7, User: 42, "only once", Group: true);

        await im.AcceptedAsync(channel, message);
        await im.AcceptedAsync(channel, message);
        await im.RepliesAsync(channel.Driver, 1);
        await im.AcceptedAsync(channel, message); // a late retry, after the answer went out

        // A later message of the same chat is answered after anything queued before it (one session, in order).
        await im.AcceptedAsync(channel, message with { Seq = 2, Text = "after" });
        var replies = await im.RepliesAsync(channel.Driver, 2);
        Assert.Equal(["You said: only once", "You said: after"], replies.Select(channel.Driver.TextOf));
        Assert.Equal(2, im.Upstream.Requests.Count);
        Assert.Equal(2, (await im.PendingAsync(channel)).Count);
    }

    [Theory]
    [MemberData(nameof(Platforms))]
    public async Task Webhook_BadSignature_RefusedAndNothingQueued(string platform)
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(ImDriver.For(platform));
        var forged = new ImText(1, Chat: 7, User: 42, "forged", Group: true);

        var answer = await im.PostAsync(channel, forged, badSignature: true);

        Assert.True(answer.Status is 401 or 403, $"a forged webhook got {answer.Status} {answer.Body}");
        Assert.Empty(await im.PendingAsync(channel));

        // Had the forgery been queued, it would be answered before this genuine message of the same chat.
        var genuine = forged with { Seq = 2, Text = "genuine" };
        await im.AcceptedAsync(channel, genuine);
        var reply = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal("You said: genuine", channel.Driver.TextOf(reply));
        Assert.Single(im.Upstream.Requests);
        Assert.Single(await im.PendingAsync(channel));
    }

    [Theory]
    [InlineData("slack")]
    [InlineData("feishu")]
    [InlineData("wecom")]
    public async Task UrlCheck_ThroughTheHandler_ChallengeAnsweredNothingRecorded(string platform)
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(ImDriver.For(platform));
        var (request, expected) = channel.Driver.UrlCheck(channel.WebhookPath, host.Clock.GetUtcNow())!.Value;

        using (request)
        {
            var answer = await im.SendAsync(request);

            Assert.Equal(200, answer.Status);
            Assert.Equal(expected, answer.Body);
        }

        Assert.Empty(await im.PendingAsync(channel));
    }

    [Theory]
    [MemberData(nameof(Platforms))]
    public async Task UpstreamFails_UserToldInsteadOfSilence(string platform)
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(ImDriver.For(platform));
        im.Upstream.Script = new Upstreams.UpstreamScript { FailStatus = 500 };
        var message = new ImText(1, Chat: 7, User: 42, "anyone?", Group: true);

        await im.AcceptedAsync(channel, message);

        var reply = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal("Sorry, the model could not answer just now. Please try again in a moment.", channel.Driver.TextOf(reply));
        channel.Driver.AssertAnswers(reply, message);
        await im.PendingStateAsync(channel, message, "delivered");
    }
}
