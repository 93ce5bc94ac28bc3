using System.Text;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Platforms;
using Serverless.Webhooks.Platforms.WeCom;
using Xunit;
using static Serverless.Tests.Webhooks.Platforms.PlatformTestKit;

namespace Serverless.Tests.Webhooks.Platforms;

public sealed class WeComPlatformTests(AzuriteFixture azurite)
{
    private const string AesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    private static Channel WeComChannel(Uri baseUrl) => Channel(ImPlatform.WeCom, baseUrl,
        ("corpId", "wwcorp"), ("corpSecret", "corp-secret"), ("agentId", "1000002"), ("token", "tok"), ("encodingAesKey", AesKey));

    private static WebhookVerdict Read(string innerXml)
    {
        var encrypted = WeComCrypto.Encrypt(innerXml, "wwcorp", WeComCrypto.KeyOf(AesKey)!);
        var signature = WeComCrypto.Signature("tok", "1700000000", "n1", encrypted);
        return new WeComPlatform(Http(), null!).Read(WeComChannel(new Uri("http://127.0.0.1:9")),
            Post(Encoding.UTF8.GetBytes($"<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"),
                [("msg_signature", signature), ("timestamp", "1700000000"), ("nonce", "n1")]), DateTimeOffset.UnixEpoch);
    }

    [Fact]
    public void Read_TextMessage_DirectMessageFromTheUser()
    {
        var message = Message(Read("<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>123</MsgId><AgentID>1000002</AgentID></xml>"));

        Assert.Equal("123", message.MessageKey);
        Assert.Equal("zhangsan", message.ConversationId);
        Assert.Equal("你好", message.Text);
        Assert.Equal("zhangsan", message.ReplyTo.UserId);
    }

    [Fact]
    public void Read_EventOrImageOrBadXml_IgnoredOr400()
    {
        Assert.IsType<WebhookVerdict.Ignored>(Read("<xml><FromUserName>u</FromUserName><MsgType>event</MsgType><Event>enter_agent</Event></xml>"));
        Assert.IsType<WebhookVerdict.Ignored>(Read("<xml><FromUserName>u</FromUserName><MsgType>image</MsgType><MsgId>1</MsgId></xml>"));
        Assert.Equal(400, Accepted<WebhookVerdict.Refused>(Read("not xml <")).Status);
    }

    [Fact]
    public async Task SendAsync_TwoReplies_OneTokenMessageSendWithAgentId()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("wecom")));
        var platform = new WeComPlatform(Http(), TokenCache(storage, Clock(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))));
        var channel = WeComChannel(api.BaseUrl);

        Assert.IsType<DeliveryResult.Delivered>(await platform.SendAsync(channel, new ReplyTarget { ChatId = "zhangsan", UserId = "zhangsan" }, "一", "k:0", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken));
        Assert.IsType<DeliveryResult.Delivered>(await platform.SendAsync(channel, new ReplyTarget { ChatId = "zhangsan", UserId = "zhangsan" }, "二", "k:1", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken));

        var token = Assert.Single(api.RequestsTo("/cgi-bin/gettoken"));
        Assert.Equal("?corpid=wwcorp&corpsecret=corp-secret", token.Query);
        var sends = api.RequestsTo("/cgi-bin/message/send");
        Assert.Equal(2, sends.Count);
        Assert.All(sends, s =>
        {
            Assert.Equal("?access_token=w-1", s.Query);
            Assert.Equal("zhangsan", s.Json.GetProperty("touser").GetString());
            Assert.Equal("text", s.Json.GetProperty("msgtype").GetString());
            Assert.Equal(1000002, s.Json.GetProperty("agentid").GetInt64());
        });
        Assert.Equal("二", sends[1].Json.GetProperty("text").GetProperty("content").GetString());
    }

    [Fact]
    public async Task SendAsync_TokenInvalid_RefreshedOnceAndResent()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("wecom")));
        var platform = new WeComPlatform(Http(), TokenCache(storage, Clock(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))));
        api.Script("/cgi-bin/message/send", new PlatformAnswer(200, """{"errcode":40014,"errmsg":"invalid access_token"}"""));

        var result = await platform.SendAsync(WeComChannel(api.BaseUrl), new ReplyTarget { ChatId = "u", UserId = "u" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.IsType<DeliveryResult.Delivered>(result);
        Assert.Equal(["?access_token=w-1", "?access_token=w-2"], api.RequestsTo("/cgi-bin/message/send").Select(r => r.Query));
    }

    [Theory]
    [InlineData(45009)]
    [InlineData(45033)]
    public async Task SendAsync_RateLimitCode_RetryAfter(int code)
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("wecom")));
        var platform = new WeComPlatform(Http(), TokenCache(storage, Clock(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))));
        api.Script("/cgi-bin/message/send", new PlatformAnswer(200, $$"""{"errcode":{{code}},"errmsg":"limit"}"""));

        var result = await platform.SendAsync(WeComChannel(api.BaseUrl), new ReplyTarget { ChatId = "u", UserId = "u" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.Equal(WeComPlatform.RateLimitDelay, Assert.IsType<DeliveryResult.RetryAfter>(result).Delay);
    }
}
