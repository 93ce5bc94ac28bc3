using System.Text;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Platforms;
using Serverless.Webhooks.Platforms.DingTalk;
using Serverless.Webhooks.Platforms.Feishu;
using Serverless.Webhooks.Platforms.Slack;
using Serverless.Webhooks.Platforms.WeCom;
using Xunit;
using static Serverless.Tests.Webhooks.Platforms.PlatformTestKit;

namespace Serverless.Tests.Webhooks.Platforms;

/// <summary>The official (or independently recomputed) test vectors of IM-PLATFORMS.md, through the adapters' Read.</summary>
public sealed class OfficialVectorTests
{
    private const string SlackSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string SlackTimestamp = "1531420618";
    private const string SlackBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    private const string SlackExpected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    private const string WeComToken = "QDG6eK";
    private const string WeComCorpId = "wx5823bf96d3bd56c7";
    private const string WeComAesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    private const string WeComEncrypt = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

    private static readonly Uri Nowhere = new("http://127.0.0.1:9");

    [Fact]
    public void SlackSignature_OfficialVector_Matches()
    {
        Assert.Equal(SlackExpected, SlackSignature.Compute(SlackSecret, SlackTimestamp, Encoding.UTF8.GetBytes(SlackBody)));
    }

    [Fact]
    public void SlackRead_OfficialVector_PassesVerificationThenRefusesTheFormBody()
    {
        var platform = new SlackPlatform(Http());
        var channel = Channel(ImPlatform.Slack, Nowhere, ("botToken", "xoxb-1"), ("signingSecret", SlackSecret));
        var now = DateTimeOffset.FromUnixTimeSeconds(long.Parse(SlackTimestamp)).AddMinutes(4);

        var verdict = platform.Read(channel, Post(SlackBody, ("X-Slack-Request-Timestamp", SlackTimestamp), ("X-Slack-Signature", SlackExpected)), now);

        // Verified (not 401); the slash-command form body is not an Events API event.
        Assert.Equal(400, Accepted<WebhookVerdict.Refused>(verdict).Status);
    }

    [Theory]
    [InlineData("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b504", 0)]
    [InlineData(SlackExpected, 6)]
    [InlineData(SlackExpected, -6)]
    public void SlackRead_BadSignatureOrStaleTimestamp_Refused401(string signature, int minutesLater)
    {
        var platform = new SlackPlatform(Http());
        var channel = Channel(ImPlatform.Slack, Nowhere, ("botToken", "xoxb-1"), ("signingSecret", SlackSecret));
        var now = DateTimeOffset.FromUnixTimeSeconds(long.Parse(SlackTimestamp)).AddMinutes(minutesLater);

        var verdict = platform.Read(channel, Post(SlackBody, ("X-Slack-Request-Timestamp", SlackTimestamp), ("X-Slack-Signature", signature)), now);

        Assert.Equal(401, Accepted<WebhookVerdict.Refused>(verdict).Status);
    }

    [Fact]
    public void FeishuDecrypt_OfficialVector_IsHelloWorld()
    {
        Assert.Equal("hello world", FeishuCrypto.Decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=", "test key"));
        Assert.Null(FeishuCrypto.Decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=", "other key"));
    }

    [Fact]
    public void DingTalkSign_Vector_Matches()
    {
        Assert.Equal("hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=", DingTalkSignature.Compute("this is secret", "1577262236757"));
    }

    [Theory]
    [InlineData("hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=", 30, null)]
    [InlineData("hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQN=", 30, 401)]
    [InlineData("hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=", 61, 401)]
    public void DingTalkRead_Vector_GoodAcceptedBadOrStaleRefused(string sign, int minutesLater, int? refusedWith)
    {
        var platform = new DingTalkPlatform(Http(), TimeProvider.System);
        var channel = Channel(ImPlatform.DingTalk, Nowhere, ("appKey", "k"), ("appSecret", "this is secret"));
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1577262236757).AddMinutes(minutesLater);
        var body = """{"msgtype":"text","text":{"content":" hi"},"msgId":"m1","conversationType":"1","conversationId":"c1","senderStaffId":"s1"}""";

        var verdict = platform.Read(channel, Post(body, ("timestamp", "1577262236757"), ("sign", sign)), now);

        if (refusedWith is { } status)
        {
            Assert.Equal(status, Accepted<WebhookVerdict.Refused>(verdict).Status);
        }
        else
        {
            Assert.Equal("hi", Message(verdict).Text);
        }
    }

    [Fact]
    public void WeComUrlCheck_OfficialVector_AnswersThePlaintext()
    {
        var platform = new WeComPlatform(Http(), null!);
        var verdict = platform.Read(WeComChannel(), Get(
            ("msg_signature", "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"), ("timestamp", "1409659589"), ("nonce", "263014780"),
            ("echostr", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==")), DateTimeOffset.UnixEpoch);

        var challenge = Accepted<WebhookVerdict.Challenge>(verdict);
        Assert.Equal("1616140317555161061", challenge.Body);
        Assert.Equal("text/plain", challenge.ContentType);
    }

    [Fact]
    public void WeComUrlCheck_PlusDecodedAsSpace_StillVerifies()
    {
        // A raw '+' in the query string reaches us as a space.
        var platform = new WeComPlatform(Http(), null!);
        var verdict = platform.Read(WeComChannel(), Get(
            ("msg_signature", "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"), ("timestamp", "1409659589"), ("nonce", "263014780"),
            ("echostr", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp 4RPcs8TgAE7OaBO FZXvnaqQ==")), DateTimeOffset.UnixEpoch);

        Assert.Equal("1616140317555161061", Accepted<WebhookVerdict.Challenge>(verdict).Body);
    }

    [Fact]
    public void WeComUrlCheck_BadSignature_Refused401()
    {
        var platform = new WeComPlatform(Http(), null!);
        var verdict = platform.Read(WeComChannel(), Get(
            ("msg_signature", "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4"), ("timestamp", "1409659589"), ("nonce", "263014780"),
            ("echostr", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==")), DateTimeOffset.UnixEpoch);

        Assert.Equal(401, Accepted<WebhookVerdict.Refused>(verdict).Status);
    }

    [Fact]
    public void WeComMessage_OfficialVector_DecryptsToHello()
    {
        var platform = new WeComPlatform(Http(), null!);
        var verdict = platform.Read(WeComChannel(), WeComMessage("477715d11cdb4164915debcba66cb864d751f3e6"), DateTimeOffset.UnixEpoch);

        var message = Message(verdict);
        Assert.Equal("hello", message.Text);
        Assert.Equal("4561255354251345929", message.MessageKey);
        Assert.Equal(message.UserId, message.ConversationId);
        Assert.Equal(message.UserId, message.ReplyTo.UserId);
        Assert.False(message.IsGroup);
        Assert.True(message.AddressedToBot);
    }

    [Fact]
    public void WeComMessage_BadSignature_Refused401()
    {
        var platform = new WeComPlatform(Http(), null!);
        Assert.Equal(401, Accepted<WebhookVerdict.Refused>(platform.Read(WeComChannel(), WeComMessage("477715d11cdb4164915debcba66cb864d751f3e7"), DateTimeOffset.UnixEpoch)).Status);
    }

    [Fact]
    public void WeComMessage_OtherCorpId_Refused401()
    {
        var platform = new WeComPlatform(Http(), null!);
        var channel = WeComChannel() with { Credentials = new Dictionary<string, string>(WeComChannel().Credentials) { ["corpId"] = "wx0000000000000000" } };

        Assert.Equal(401, Accepted<WebhookVerdict.Refused>(platform.Read(channel, WeComMessage("477715d11cdb4164915debcba66cb864d751f3e6"), DateTimeOffset.UnixEpoch)).Status);
    }

    private static Channel WeComChannel() => Channel(ImPlatform.WeCom, Nowhere,
        ("corpId", WeComCorpId), ("corpSecret", "s"), ("agentId", "218"), ("token", WeComToken), ("encodingAesKey", WeComAesKey));

    private static WebhookRequest WeComMessage(string signature) => Post(
        Encoding.UTF8.GetBytes($"<xml><ToUserName><![CDATA[{WeComCorpId}]]></ToUserName><Encrypt><![CDATA[{WeComEncrypt}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"),
        [("msg_signature", signature), ("timestamp", "1409659813"), ("nonce", "1372623149")]);
}
