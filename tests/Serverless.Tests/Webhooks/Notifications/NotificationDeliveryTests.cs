using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Web;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Webhooks.Notifications;

/// <summary>
/// <c>POST /api/admin/notifications/{id}/test</c> through the running handler in local mode: the message goes over the
/// im-outbound queue (Azurite) to ImDeliver, which sends it to a loopback receiver as the target's type does.
/// </summary>
public sealed class NotificationDeliveryTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Test_WebhookTarget_ArrivesSignedWithTheSharedSecret()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var host = await RelayHost.StartAsync(azurite, NotificationKit.FastRetries());
        var id = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "ops", url = new Uri(api.BaseUrl, "hooks/ops").AbsoluteUri, secret = NotificationKit.WebhookSecret });

        await NotificationKit.TestAsync(host, id);

        var request = Assert.Single(await NotificationKit.ReceivedAsync(api, "/hooks/ops", 1));
        NotificationKit.AssertSigned(request, NotificationKit.WebhookSecret, DateTimeOffset.UtcNow);
        var body = request.Json;
        Assert.Equal("test", body.GetProperty("type").GetString());
        Assert.Equal("Test notification from the LLM relay: target 'ops' (webhook) is reachable.", body.GetProperty("text").GetString());
        Assert.Equal(id, body.GetProperty("targetId").GetString());
        Assert.True(body.TryGetProperty("at", out _));
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_TelegramTarget_SendMessageToTheChatWithTheBotToken()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var host = await RelayHost.StartAsync(azurite, NotificationKit.FastRetries());
        var id = await NotificationKit.CreateTargetAsync(host, new { type = "telegram", name = "oncall", botToken = "4242:bot-token", chatId = "-1001234", apiBaseUrl = api.BaseUrl.AbsoluteUri });

        await NotificationKit.TestAsync(host, id);

        var request = Assert.Single(await NotificationKit.ReceivedAsync(api, "/bot4242:bot-token/sendMessage", 1));
        Assert.Equal(-1001234, request.Json.GetProperty("chat_id").GetInt64());
        Assert.Equal("Test notification from the LLM relay: target 'oncall' (telegram) is reachable.", NotificationKit.TelegramText(request));
    }

    [Fact]
    public async Task Test_FeishuDingTalkSlackWeCom_EachInItsOwnShapeAndSigned()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var host = await RelayHost.StartAsync(azurite, NotificationKit.FastRetries());
        var feishu = await NotificationKit.CreateTargetAsync(host, new { type = "feishu", name = "f", url = new Uri(api.BaseUrl, "open-apis/bot/v2/hook/fh").AbsoluteUri, secret = "fs-secret" });
        var dingtalk = await NotificationKit.CreateTargetAsync(host, new { type = "dingtalk", name = "d", url = new Uri(api.BaseUrl, "robot/send?access_token=dt").AbsoluteUri, secret = "SECdt" });
        var slack = await NotificationKit.CreateTargetAsync(host, new { type = "slack", name = "s", url = new Uri(api.BaseUrl, "services/T/B/sl").AbsoluteUri });
        var wecom = await NotificationKit.CreateTargetAsync(host, new { type = "wecom", name = "w", url = new Uri(api.BaseUrl, "cgi-bin/webhook/send?key=wk").AbsoluteUri });

        foreach (var id in new[] { feishu, dingtalk, slack, wecom })
        {
            await NotificationKit.TestAsync(host, id);
        }

        // Feishu: timestamp in seconds, sign = base64(HMAC-SHA256(key = timestamp + "\n" + secret, empty message)).
        var fs = Assert.Single(await NotificationKit.ReceivedAsync(api, "/hook/fh", 1)).Json;
        var fsTimestamp = fs.GetProperty("timestamp").GetString()!;
        Assert.Equal(Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(fsTimestamp + "\nfs-secret"), Array.Empty<byte>())), fs.GetProperty("sign").GetString());
        Assert.Equal("text", fs.GetProperty("msg_type").GetString());
        Assert.Contains("target 'f' (feishu)", fs.GetProperty("content").GetProperty("text").GetString(), StringComparison.Ordinal);

        // DingTalk: the access token kept, timestamp in ms and sign = base64(HMAC-SHA256(secret, timestamp + "\n" + secret)) in the query.
        var dt = Assert.Single(await NotificationKit.ReceivedAsync(api, "/robot/send", 1));
        var query = HttpUtility.ParseQueryString(dt.Query);
        Assert.Equal("dt", query["access_token"]);
        Assert.Equal(Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes("SECdt"), Encoding.UTF8.GetBytes(query["timestamp"] + "\nSECdt"))), query["sign"]);
        Assert.InRange(long.Parse(query["timestamp"]!, CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds());
        Assert.Equal("text", dt.Json.GetProperty("msgtype").GetString());
        Assert.Contains("target 'd' (dingtalk)", dt.Json.GetProperty("text").GetProperty("content").GetString(), StringComparison.Ordinal);

        var sl = Assert.Single(await NotificationKit.ReceivedAsync(api, "/services/T/B/sl", 1)).Json;
        Assert.Contains("target 's' (slack)", sl.GetProperty("text").GetString(), StringComparison.Ordinal);

        var wc = Assert.Single(await NotificationKit.ReceivedAsync(api, "/cgi-bin/webhook/send", 1));
        Assert.Equal("?key=wk", wc.Query);
        Assert.Equal("text", wc.Json.GetProperty("msgtype").GetString());
        Assert.Contains("target 'w' (wecom)", wc.Json.GetProperty("text").GetProperty("content").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_Receiver500Then200_DeliveredOnTheRetry()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var host = await RelayHost.StartAsync(azurite, NotificationKit.FastRetries());
        var id = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "ops", url = new Uri(api.BaseUrl, "hooks/flaky").AbsoluteUri, secret = NotificationKit.WebhookSecret });
        api.Script("/hooks/flaky", new PlatformAnswer(500, """{"error":"down"}"""));

        await NotificationKit.TestAsync(host, id);

        var requests = await NotificationKit.ReceivedAsync(api, "/hooks/flaky", 2);
        Assert.Equal(2, requests.Count);
        Assert.Equal(requests[0].Json.GetProperty("text").GetString(), requests[1].Json.GetProperty("text").GetString());
        NotificationKit.AssertSigned(requests[1], NotificationKit.WebhookSecret, DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Test_Receiver400_NotRetriedAndTheNextMessageGoesOut()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var host = await RelayHost.StartAsync(azurite, NotificationKit.FastRetries());
        var id = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "ops", url = new Uri(api.BaseUrl, "hooks/strict").AbsoluteUri, secret = NotificationKit.WebhookSecret });
        api.Script("/hooks/strict", new PlatformAnswer(400, """{"error":"bad"}"""));

        await NotificationKit.TestAsync(host, id);
        await NotificationKit.TestAsync(host, id);

        // The session is in order: the second test arriving means the first was settled, with one attempt.
        var requests = await NotificationKit.ReceivedAsync(api, "/hooks/strict", 2);
        Assert.Equal(2, requests.Count);
        Assert.NotEqual(requests[0].Body, requests[1].Body);
    }
}
