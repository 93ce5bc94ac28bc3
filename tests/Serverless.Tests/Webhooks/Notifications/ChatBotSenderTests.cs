using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Notifications;
using Serverless.Webhooks.Platforms;
using Xunit;
using static Serverless.Tests.Webhooks.Platforms.PlatformTestKit;

namespace Serverless.Tests.Webhooks.Notifications;

/// <summary>The chat-bot senders against the simulated platform API, for what the end-to-end delivery tests do not show.</summary>
public sealed class ChatBotSenderTests
{
    [Fact]
    public async Task SlackSend_ControlCharacters_Escaped()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        var target = new NotificationTarget
        {
            Id = "nt-1", Type = NotificationType.Slack, Name = "s", CreatedAt = DateTimeOffset.UnixEpoch,
            Settings = new Dictionary<string, string> { [NotificationTypes.Url] = new Uri(api.BaseUrl, "services/T/B/sl").AbsoluteUri },
        };

        var result = await new SlackNotificationSender(Http())
            .SendAsync(target, "account <prod> & co", new OutboundNotification("nt-1", "test", new Dictionary<string, string>(), DateTimeOffset.UnixEpoch), TestContext.Current.CancellationToken)
            .WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.IsType<DeliveryResult.Delivered>(result);
        Assert.Equal("account &lt;prod&gt; &amp; co", Assert.Single(api.Requests).Json.GetProperty("text").GetString());
    }
}
