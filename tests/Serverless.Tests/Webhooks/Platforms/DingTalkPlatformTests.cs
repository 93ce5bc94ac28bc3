using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Platforms;
using Serverless.Webhooks.Platforms.DingTalk;
using Xunit;
using static Serverless.Tests.Webhooks.Platforms.PlatformTestKit;

namespace Serverless.Tests.Webhooks.Platforms;

public sealed class DingTalkPlatformTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Channel DingTalkChannel(Uri baseUrl) => Channel(ImPlatform.DingTalk, baseUrl, ("appKey", "ding-key"), ("appSecret", "ding-secret"));

    private static WebhookVerdict Read(string body)
    {
        var timestamp = Now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        return new DingTalkPlatform(Http(), new FakeTimeProvider(Now)).Read(DingTalkChannel(new Uri("http://127.0.0.1:9")),
            Post(body, ("timestamp", timestamp), ("sign", DingTalkSignature.Compute("ding-secret", timestamp))), Now);
    }

    [Fact]
    public void Read_GroupMessage_AddressedWithSessionWebhook()
    {
        var message = Message(Read("""
            {"msgtype":"text","text":{"content":" what time is it "},"msgId":"msgA1","createAt":1,"conversationType":"2","conversationId":"cidG1",
             "conversationTitle":"team","senderId":"$:LWCP","senderNick":"Ann","senderStaffId":"staff1","chatbotUserId":"$:bot","isInAtList":true,
             "sessionWebhook":"https://oapi.dingtalk.com/robot/sendBySession?session=abc","sessionWebhookExpiredTime":1893456000000}
            """));

        Assert.Equal("msgA1", message.MessageKey);
        Assert.Equal("cidG1", message.ConversationId);
        Assert.Equal("staff1", message.UserId);
        Assert.Equal("what time is it", message.Text);
        Assert.True(message.IsGroup);
        Assert.True(message.AddressedToBot);
        Assert.Equal("https://oapi.dingtalk.com/robot/sendBySession?session=abc", message.ReplyTo.SessionWebhook);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1893456000000), message.ReplyTo.SessionWebhookExpiresAt);
    }

    [Fact]
    public void Read_PictureOrMalformed_IgnoredOr400()
    {
        Assert.IsType<WebhookVerdict.Ignored>(Read("""{"msgtype":"picture","msgId":"m","conversationId":"c","senderStaffId":"s","content":{}}"""));
        Assert.Equal(400, Accepted<WebhookVerdict.Refused>(Read("[1,2]")).Status);
    }

    [Fact]
    public async Task SendAsync_SessionWebhookOnChannelOrigin_PostsTextAndMention()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        var platform = new DingTalkPlatform(Http(), new FakeTimeProvider(Now));
        var target = new ReplyTarget
        {
            ChatId = "cidG1", UserId = "staff1",
            SessionWebhook = new Uri(api.BaseUrl, "/robot/sendBySession?session=abc").ToString(), SessionWebhookExpiresAt = Now.AddMinutes(90),
        };

        var result = await platform.SendAsync(DingTalkChannel(api.BaseUrl), target, "noon", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.IsType<DeliveryResult.Delivered>(result);
        var request = Assert.Single(api.Requests);
        Assert.Equal("/robot/sendBySession", request.Path);
        Assert.Equal("?session=abc", request.Query);
        Assert.Equal("text", request.Json.GetProperty("msgtype").GetString());
        Assert.Equal("noon", request.Json.GetProperty("text").GetProperty("content").GetString());
        Assert.Equal("staff1", request.Json.GetProperty("at").GetProperty("atUserIds")[0].GetString());
    }

    [Theory]
    [InlineData("https://evil.example/robot/sendBySession?session=abc")]
    [InlineData("http://127.0.0.1:1/robot/sendBySession")]
    [InlineData("not a url")]
    public async Task SendAsync_SessionWebhookElsewhere_PermanentWithoutAnyRequest(string webhook)
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        var platform = new DingTalkPlatform(Http(), new FakeTimeProvider(Now));

        var result = await platform.SendAsync(DingTalkChannel(api.BaseUrl), new ReplyTarget { ChatId = "c", SessionWebhook = webhook, SessionWebhookExpiresAt = Now.AddHours(1) }, "x", "k", TestContext.Current.CancellationToken);

        Assert.True(Assert.IsType<DeliveryResult.Failed>(result).Permanent);
        Assert.Empty(api.Requests);
    }

    [Fact]
    public async Task SendAsync_ExpiredSessionWebhook_PermanentWithoutAnyRequest()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        var platform = new DingTalkPlatform(Http(), new FakeTimeProvider(Now));
        var target = new ReplyTarget { ChatId = "c", SessionWebhook = new Uri(api.BaseUrl, "/robot/sendBySession").ToString(), SessionWebhookExpiresAt = Now.AddSeconds(-1) };

        var result = await platform.SendAsync(DingTalkChannel(api.BaseUrl), target, "x", "k", TestContext.Current.CancellationToken);

        Assert.Equal("the sessionWebhook has expired", Assert.IsType<DeliveryResult.Failed>(result).Reason);
        Assert.Empty(api.Requests);
    }
}
