using Xunit;

namespace Serverless.Tests.Webhooks.EndToEnd;

/// <summary>A channel the admin disabled or deleted no longer takes webhooks: 404, as for an id that never existed, and nothing is answered.</summary>
public sealed class ImChannelStateTests(ImFlowHost host) : IClassFixture<ImFlowHost>
{
    [Fact]
    public async Task Webhook_ChannelDisabledOrDeleted_404AndNoReply()
    {
        await using var im = await ImScenario.StartAsync(host);
        var disabled = await im.CreateChannelAsync(new TelegramDriver());
        var deleted = await im.CreateChannelAsync(new SlackDriver());
        var message = new ImText(1, Chat: 2, User: 2, "anyone there?", Group: true);

        await im.AdminAsync(HttpMethod.Patch, $"api/admin/channels/{disabled.Id}", new { enabled = false });
        await im.AdminAsync(HttpMethod.Delete, $"api/admin/channels/{deleted.Id}");

        foreach (var channel in new[] { disabled, deleted })
        {
            var answer = await im.PostAsync(channel, message);
            Assert.Equal(404, answer.Status);
            Assert.Equal("no such channel", answer.Body);
        }

        Assert.Empty(await im.PendingAsync(disabled));
        Assert.Empty(im.Upstream.Requests);
        Assert.Empty(im.Api.Requests);
    }

    [Fact]
    public async Task Webhook_ChannelEnabledAgain_Answered()
    {
        await using var im = await ImScenario.StartAsync(host);
        var channel = await im.CreateChannelAsync(new TelegramDriver());
        await im.AdminAsync(HttpMethod.Patch, $"api/admin/channels/{channel.Id}", new { enabled = false });
        Assert.Equal(404, (await im.PostAsync(channel, new ImText(1, Chat: 2, User: 2, "off"))).Status);

        await im.AdminAsync(HttpMethod.Patch, $"api/admin/channels/{channel.Id}", new { enabled = true });
        await im.AcceptedAsync(channel, new ImText(2, Chat: 2, User: 2, "on"));

        var reply = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal("You said: on", channel.Driver.TextOf(reply));
    }
}
