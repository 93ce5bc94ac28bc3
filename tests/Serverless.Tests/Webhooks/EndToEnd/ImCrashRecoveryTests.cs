using System.Security.Cryptography;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Webhooks.EndToEnd;

/// <summary>
/// Nothing lost: the handler is a real process in local mode, SIGKILLed after it acknowledged a webhook and while the
/// LLM call is in flight. The message stays in its queue, locked by the dead process; another process on the same
/// storage takes it when the lock runs out and the user gets one answer.
/// </summary>
public sealed class ImCrashRecoveryTests(AzuriteFixture azurite)
{
    private const string AdminKey = "im-crash-admin-key-0123456789";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task HandlerKilledBeforeDelivery_RestartedOnSameStorage_ReplyDeliveredOnce()
    {
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_TABLE_PREFIX"] = "imcrash" + Guid.NewGuid().ToString("N")[..10],
            ["RELAY_ADMIN_KEY"] = AdminKey,
            ["RELAY_ENCRYPTION_KEYS"] = "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["LocalQueues__LockDuration"] = "00:00:03",
            ["LocalQueues__MaxPollInterval"] = "00:00:00.200",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        await using var first = await StartAsync(settings);
        await using var im = await ImScenario.StartAsync(first.BaseUri, AdminKey, TimeProvider.System);
        var channel = await im.CreateChannelAsync(new TelegramDriver());
        im.Upstream.Script = new UpstreamScript { Hang = true, FailTimes = 1 }; // the first LLM call never answers
        var message = new ImText(1, Chat: 21, User: 21, "do not lose me");

        await im.AcceptedAsync(channel, message);
        await Eventually.TrueAsync("the LLM call in flight", _ => Task.FromResult(im.Upstream.Requests.Count == 1));
        await im.PendingStateAsync(channel, message, "queued");
        await first.KillAsync(StartTimeout);

        await using var second = await StartAsync(settings);
        im.UseRelay(second.BaseUri);

        var reply = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal("You said: do not lose me", channel.Driver.TextOf(reply));
        channel.Driver.AssertAnswers(reply, message);
        await im.PendingStateAsync(channel, message, "delivered");

        // A second delivery of the first message would be answered before this later one of the same chat.
        await im.AcceptedAsync(channel, message with { Seq = 2, Text = "still there?" });
        var replies = await im.RepliesAsync(channel.Driver, 2);
        Assert.Equal(["You said: do not lose me", "You said: still there?"], replies.Select(channel.Driver.TextOf));
        Assert.Equal(3, im.Upstream.Requests.Count);
    }

    private static Task<HandlerProcess> StartAsync(IReadOnlyDictionary<string, string> settings)
    {
        var port = HandlerProcess.FreePort();
        return HandlerProcess.StartAsync(port, new Dictionary<string, string>(settings) { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" }, StartTimeout);
    }
}
