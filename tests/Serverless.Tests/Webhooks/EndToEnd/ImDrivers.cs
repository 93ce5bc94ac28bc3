using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Platforms.DingTalk;
using Serverless.Webhooks.Platforms.Slack;
using Serverless.Webhooks.Platforms.WeCom;
using Xunit;

namespace Serverless.Tests.Webhooks.EndToEnd;

/// <summary>
/// One user message as a test describes it, platform-neutral: <see cref="Seq"/> numbers it within the test (each
/// driver turns it into the platform's message key and message id), <see cref="Chat"/> and <see cref="User"/> are small
/// numbers each driver spells its own way. In a group the bot is addressed only when <see cref="Mention"/> is set.
/// </summary>
internal sealed record ImText(int Seq, int Chat, int User, string Text, bool Group = false, bool Mention = true);

/// <summary>
/// A platform as the end-to-end tests play it: the channel's credentials (fresh secrets per driver), a webhook signed
/// as the platform signs it (or with a wrong signature), and how the platform's API receives the reply: its path at
/// <see cref="SimulatedPlatformApi"/>, the text in it, and how it is threaded or quoted.
/// </summary>
internal abstract class ImDriver
{
    public abstract string Platform { get; }

    /// <summary>The path (end) of the API call that carries a reply.</summary>
    public abstract string ReplyPath { get; }

    /// <summary>The longest reply part, measured as <see cref="Measure"/> does.</summary>
    public abstract int MaxPart { get; }

    public virtual int Measure(string text) => text.Length;

    public abstract IReadOnlyDictionary<string, string> Credentials { get; }

    public virtual Uri ApiBaseUrl(SimulatedPlatformApi api) => api.BaseUrl;

    /// <summary>The platform's dedup key of <paramref name="message"/> (what the pending row is keyed on).</summary>
    public abstract string KeyOf(ImText message);

    /// <param name="webhookPath">The channel's <c>webhookUrl</c>.</param>
    /// <param name="now">The relay's clock, for platforms that sign a timestamp.</param>
    public abstract HttpRequestMessage Webhook(string webhookPath, ImText message, SimulatedPlatformApi api, DateTimeOffset now, bool badSignature = false);

    /// <summary>
    /// The platform's url-verification request (sent when the webhook URL is configured) and the body it expects back;
    /// null for platforms without one (Telegram's setWebhook and DingTalk's robot need no challenge).
    /// </summary>
    public virtual (HttpRequestMessage Request, string Expected)? UrlCheck(string webhookPath, DateTimeOffset now) => null;

    public abstract string TextOf(PlatformRequest reply);

    /// <summary>Asserts the reply goes to <paramref name="message"/>'s chat, threaded or quoted as the platform does it.</summary>
    public abstract void AssertAnswers(PlatformRequest reply, ImText message);

    public static ImDriver For(string platform) => platform switch
    {
        "telegram" => new TelegramDriver(),
        "slack" => new SlackDriver(),
        "feishu" => new FeishuDriver(),
        "dingtalk" => new DingTalkDriver(),
        "wecom" => new WeComDriver(),
        _ => throw new ArgumentOutOfRangeException(nameof(platform), platform, "not a platform"),
    };

    protected static string Secret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    protected static HttpRequestMessage Post(string path, string body, string contentType = "application/json") =>
        new(HttpMethod.Post, path.TrimStart('/')) { Content = new StringContent(body, Encoding.UTF8, contentType) };

    protected static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Telegram: the secret token header; a reply quotes the message (<c>reply_parameters.message_id</c>).</summary>
internal sealed class TelegramDriver : ImDriver
{
    public const string BotUsername = "relay_bot";
    private readonly string _secretToken = Secret();

    public override string Platform => "telegram";

    public override string ReplyPath => "/sendMessage";

    public override int MaxPart => 4096;

    public string BotToken { get; } = "123456:" + Secret();

    public override IReadOnlyDictionary<string, string> Credentials => new Dictionary<string, string>
    {
        ["botToken"] = BotToken, ["secretToken"] = _secretToken, ["botUsername"] = BotUsername,
    };

    public override string KeyOf(ImText message) => Invariant(UpdateId(message));

    public static long UpdateId(ImText message) => 900_000 + message.Seq;

    public static long MessageId(ImText message) => 100 + message.Seq;

    public static long ChatId(ImText message) => message.Group ? -1_000_000 - message.Chat : message.Chat;

    public override HttpRequestMessage Webhook(string webhookPath, ImText message, SimulatedPlatformApi api, DateTimeOffset now, bool badSignature = false)
    {
        var text = message.Mention && message.Group ? "@" + BotUsername + " " + message.Text : message.Text;
        var body = new JsonObject
        {
            ["message_id"] = MessageId(message),
            ["from"] = new JsonObject { ["id"] = message.User, ["is_bot"] = false, ["first_name"] = "U" + Invariant(message.User) },
            ["chat"] = new JsonObject { ["id"] = ChatId(message), ["type"] = message.Group ? "group" : "private" },
            ["date"] = now.ToUnixTimeSeconds(),
            ["text"] = text,
        };
        if (message.Mention && message.Group)
        {
            body["entities"] = new JsonArray(new JsonObject { ["type"] = "mention", ["offset"] = 0, ["length"] = BotUsername.Length + 1 });
        }

        var request = Post(webhookPath, new JsonObject { ["update_id"] = UpdateId(message), ["message"] = body }.ToJsonString());
        request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", badSignature ? _secretToken + "x" : _secretToken);
        return request;
    }

    public override string TextOf(PlatformRequest reply) => reply.Json.GetProperty("text").GetString()!;

    public override void AssertAnswers(PlatformRequest reply, ImText message)
    {
        Assert.EndsWith("/bot" + BotToken + "/sendMessage", reply.Path, StringComparison.Ordinal);
        Assert.Equal(ChatId(message), reply.Json.GetProperty("chat_id").GetInt64());
        Assert.Equal(MessageId(message), reply.Json.GetProperty("reply_parameters").GetProperty("message_id").GetInt64());
    }
}

/// <summary>Slack: a signed app_mention inside a thread of the chat's channel; the reply goes to that thread (<c>thread_ts</c>).</summary>
internal sealed class SlackDriver : ImDriver
{
    private readonly string _signingSecret = Secret();
    private readonly string _botToken = "xoxb-" + Secret();

    public override string Platform => "slack";

    public override string ReplyPath => "/api/chat.postMessage";

    public override int MaxPart => 4000;

    public override IReadOnlyDictionary<string, string> Credentials => new Dictionary<string, string>
    {
        ["botToken"] = _botToken, ["signingSecret"] = _signingSecret,
    };

    public override Uri ApiBaseUrl(SimulatedPlatformApi api) => new(api.BaseUrl, "api");

    public override string KeyOf(ImText message) => "Ev" + Invariant(message.Seq);

    public static string ChannelOf(ImText message) => (message.Group ? "C" : "D") + Invariant(message.Chat);

    /// <summary>The thread the chat's messages are in (a DM is not threaded).</summary>
    public static string ThreadOf(ImText message) => "1700000000." + message.Chat.ToString("000000", CultureInfo.InvariantCulture);

    public override HttpRequestMessage Webhook(string webhookPath, ImText message, SimulatedPlatformApi api, DateTimeOffset now, bool badSignature = false)
    {
        var ev = new JsonObject
        {
            ["type"] = message.Group && message.Mention ? "app_mention" : "message",
            ["user"] = "U" + Invariant(message.User),
            ["text"] = message.Group && message.Mention ? "<@UBOT> " + message.Text : message.Text,
            ["ts"] = "1700000001." + message.Seq.ToString("000000", CultureInfo.InvariantCulture),
            ["channel"] = ChannelOf(message),
        };
        if (message.Group)
        {
            ev["thread_ts"] = ThreadOf(message);
            if (!message.Mention)
            {
                ev["channel_type"] = "channel";
            }
        }
        else
        {
            ev["channel_type"] = "im";
        }

        var body = new JsonObject
        {
            ["token"] = "x", ["team_id"] = "T1", ["api_app_id"] = "A1", ["type"] = "event_callback", ["event_id"] = KeyOf(message), ["event_time"] = now.ToUnixTimeSeconds(),
            ["authorizations"] = new JsonArray(new JsonObject { ["team_id"] = "T1", ["user_id"] = "UBOT", ["is_bot"] = true }),
            ["event"] = ev,
        }.ToJsonString();
        var timestamp = Invariant(now.ToUnixTimeSeconds());
        var request = Post(webhookPath, body);
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", SlackSignature.Compute(badSignature ? _signingSecret + "x" : _signingSecret, timestamp, Encoding.UTF8.GetBytes(body)));
        return request;
    }

    public override (HttpRequestMessage Request, string Expected)? UrlCheck(string webhookPath, DateTimeOffset now)
    {
        var challenge = Secret();
        var body = new JsonObject { ["token"] = "x", ["challenge"] = challenge, ["type"] = "url_verification" }.ToJsonString();
        var timestamp = Invariant(now.ToUnixTimeSeconds());
        var request = Post(webhookPath, body);
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", SlackSignature.Compute(_signingSecret, timestamp, Encoding.UTF8.GetBytes(body)));
        return (request, challenge);
    }

    public override string TextOf(PlatformRequest reply) => reply.Json.GetProperty("text").GetString()!;

    public override void AssertAnswers(PlatformRequest reply, ImText message)
    {
        Assert.Equal("Bearer " + _botToken, reply.Header("Authorization"));
        Assert.Equal(ChannelOf(message), reply.Json.GetProperty("channel").GetString());
        if (message.Group)
        {
            Assert.Equal(ThreadOf(message), reply.Json.GetProperty("thread_ts").GetString());
        }
        else
        {
            Assert.False(reply.Json.TryGetProperty("thread_ts", out _));
        }
    }
}

/// <summary>Feishu (event schema 2.0, verification token); the reply is a reply to the message (<c>/messages/{message_id}/reply</c>).</summary>
internal sealed class FeishuDriver : ImDriver
{
    private readonly string _verificationToken = Secret();
    private readonly string _appSecret = Secret();

    public override string Platform => "feishu";

    public override string ReplyPath => "/reply";

    public override int MaxPart => 20_000;

    public override IReadOnlyDictionary<string, string> Credentials => new Dictionary<string, string>
    {
        ["appId"] = "cli_test", ["appSecret"] = _appSecret, ["verificationToken"] = _verificationToken,
    };

    /// <summary>Feishu's dedup key is the message_id: a re-push may carry another event_id.</summary>
    public override string KeyOf(ImText message) => MessageId(message);

    public static string MessageId(ImText message) => "om_" + Invariant(message.Seq);

    public override HttpRequestMessage Webhook(string webhookPath, ImText message, SimulatedPlatformApi api, DateTimeOffset now, bool badSignature = false)
    {
        var mention = message.Group && message.Mention;
        var content = new JsonObject { ["text"] = mention ? "@_user_1 " + message.Text : message.Text }.ToJsonString();
        var body = new JsonObject
        {
            ["schema"] = "2.0",
            ["header"] = new JsonObject
            {
                ["event_id"] = "ev-" + Invariant(message.Seq), ["event_type"] = "im.message.receive_v1", ["token"] = badSignature ? "wrong-token" : _verificationToken,
                ["app_id"] = "cli_1", ["create_time"] = Invariant(now.ToUnixTimeMilliseconds()),
            },
            ["event"] = new JsonObject
            {
                ["sender"] = new JsonObject { ["sender_id"] = new JsonObject { ["open_id"] = "ou_" + Invariant(message.User) }, ["sender_type"] = "user" },
                ["message"] = new JsonObject
                {
                    ["message_id"] = MessageId(message), ["chat_id"] = "oc_" + Invariant(message.Chat), ["chat_type"] = message.Group ? "group" : "p2p",
                    ["message_type"] = "text", ["content"] = content,
                    ["mentions"] = mention ? new JsonArray(new JsonObject { ["key"] = "@_user_1", ["name"] = "Relay Bot" }) : new JsonArray(),
                },
            },
        };
        return Post(webhookPath, body.ToJsonString());
    }

    public override (HttpRequestMessage Request, string Expected)? UrlCheck(string webhookPath, DateTimeOffset now)
    {
        var challenge = Secret();
        var body = new JsonObject { ["challenge"] = challenge, ["token"] = _verificationToken, ["type"] = "url_verification" }.ToJsonString();
        return (Post(webhookPath, body), new JsonObject { ["challenge"] = challenge }.ToJsonString());
    }

    public override string TextOf(PlatformRequest reply)
    {
        using var content = JsonDocument.Parse(reply.Json.GetProperty("content").GetString()!);
        return content.RootElement.GetProperty("text").GetString()!;
    }

    public override void AssertAnswers(PlatformRequest reply, ImText message)
    {
        Assert.Equal("/open-apis/im/v1/messages/" + MessageId(message) + "/reply", reply.Path);
        Assert.StartsWith("Bearer t-", reply.Header("Authorization"), StringComparison.Ordinal);
        Assert.Equal("text", reply.Json.GetProperty("msg_type").GetString());
    }
}

/// <summary>DingTalk: the signed timestamp; the reply goes to the message's sessionWebhook and @-mentions the sender.</summary>
internal sealed class DingTalkDriver : ImDriver
{
    private readonly string _appSecret = Secret();

    public override string Platform => "dingtalk";

    public override string ReplyPath => "/robot/sendBySession";

    public override int MaxPart => 4000;

    public override IReadOnlyDictionary<string, string> Credentials => new Dictionary<string, string>
    {
        ["appKey"] = "dingtest", ["appSecret"] = _appSecret,
    };

    public override string KeyOf(ImText message) => "msg" + Invariant(message.Seq);

    public static string StaffId(ImText message) => "staff" + Invariant(message.User);

    public static string Session(ImText message) => "s" + Invariant(message.Chat);

    public override HttpRequestMessage Webhook(string webhookPath, ImText message, SimulatedPlatformApi api, DateTimeOffset now, bool badSignature = false)
    {
        // NOTE: DingTalk delivers only group messages that @ the robot (the @ already cut from text.content).
        var body = new JsonObject
        {
            ["msgtype"] = "text",
            ["text"] = new JsonObject { ["content"] = " " + message.Text },
            ["msgId"] = KeyOf(message),
            ["createAt"] = now.ToUnixTimeMilliseconds(),
            ["conversationType"] = message.Group ? "2" : "1",
            ["conversationId"] = "cid" + Invariant(message.Chat),
            ["senderId"] = "$:LWCP_v1:$" + Invariant(message.User),
            ["senderNick"] = "U" + Invariant(message.User),
            ["senderStaffId"] = StaffId(message),
            ["chatbotUserId"] = "$:LWCP_v1:$bot",
            ["isInAtList"] = true,
            ["sessionWebhook"] = new Uri(api.BaseUrl, "robot/sendBySession?session=" + Session(message)).ToString(),
            ["sessionWebhookExpiredTime"] = now.AddMinutes(90).ToUnixTimeMilliseconds(),
        }.ToJsonString();
        var timestamp = Invariant(now.ToUnixTimeMilliseconds());
        var request = Post(webhookPath, body);
        request.Headers.Add("timestamp", timestamp);
        request.Headers.Add("sign", DingTalkSignature.Compute(badSignature ? _appSecret + "x" : _appSecret, timestamp));
        return request;
    }

    public override string TextOf(PlatformRequest reply) => reply.Json.GetProperty("text").GetProperty("content").GetString()!;

    public override void AssertAnswers(PlatformRequest reply, ImText message)
    {
        Assert.Equal("?session=" + Session(message), reply.Query);
        Assert.Equal("text", reply.Json.GetProperty("msgtype").GetString());
        Assert.Equal(StaffId(message), reply.Json.GetProperty("at").GetProperty("atUserIds")[0].GetString());
    }
}

/// <summary>WeCom: an encrypted, signed XML callback; the reply is an app message to the sender (<c>touser</c>). Every chat is the user's own.</summary>
internal sealed class WeComDriver : ImDriver
{
    private const string AgentId = "1000002";
    private readonly string _corpId = "ww" + Secret();
    private readonly string _token = Secret();
    private readonly string _corpSecret = Secret();
    private readonly string _aesKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=');

    public override string Platform => "wecom";

    public override string ReplyPath => "/cgi-bin/message/send";

    /// <summary>message/send takes 2048 bytes of UTF-8.</summary>
    public override int MaxPart => 2048;

    public override int Measure(string text) => Encoding.UTF8.GetByteCount(text);

    public override IReadOnlyDictionary<string, string> Credentials => new Dictionary<string, string>
    {
        ["corpId"] = _corpId, ["corpSecret"] = _corpSecret, ["agentId"] = AgentId, ["token"] = _token, ["encodingAesKey"] = _aesKey,
    };

    public override string KeyOf(ImText message) => Invariant(7_000_000_000 + message.Seq);

    public static string UserOf(ImText message) => "user" + Invariant(message.User);

    public override HttpRequestMessage Webhook(string webhookPath, ImText message, SimulatedPlatformApi api, DateTimeOffset now, bool badSignature = false)
    {
        var inner = new System.Xml.Linq.XElement("xml",
            new System.Xml.Linq.XElement("ToUserName", _corpId),
            new System.Xml.Linq.XElement("FromUserName", UserOf(message)),
            new System.Xml.Linq.XElement("CreateTime", now.ToUnixTimeSeconds()),
            new System.Xml.Linq.XElement("MsgType", "text"),
            new System.Xml.Linq.XElement("Content", message.Text),
            new System.Xml.Linq.XElement("MsgId", KeyOf(message)),
            new System.Xml.Linq.XElement("AgentID", AgentId)).ToString(System.Xml.Linq.SaveOptions.DisableFormatting);
        var encrypted = WeComCrypto.Encrypt(inner, _corpId, WeComCrypto.KeyOf(_aesKey)!);
        var timestamp = Invariant(now.ToUnixTimeSeconds());
        var nonce = Secret();
        var signature = WeComCrypto.Signature(badSignature ? _token + "x" : _token, timestamp, nonce, encrypted);
        var envelope = $"<xml><ToUserName><![CDATA[{_corpId}]]></ToUserName><AgentID><![CDATA[{AgentId}]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>";
        return Post($"{webhookPath}?msg_signature={signature}&timestamp={timestamp}&nonce={nonce}", envelope, "text/xml");
    }

    /// <summary>The GET WeCom sends when the callback URL is saved: <c>echostr</c> encrypted and signed, answered with its plaintext.</summary>
    public override (HttpRequestMessage Request, string Expected)? UrlCheck(string webhookPath, DateTimeOffset now)
    {
        var plain = Secret();
        var echo = WeComCrypto.Encrypt(plain, _corpId, WeComCrypto.KeyOf(_aesKey)!);
        var timestamp = Invariant(now.ToUnixTimeSeconds());
        var nonce = Secret();
        var signature = WeComCrypto.Signature(_token, timestamp, nonce, echo);
        var url = $"{webhookPath.TrimStart('/')}?msg_signature={signature}&timestamp={timestamp}&nonce={nonce}&echostr={Uri.EscapeDataString(echo)}";
        return (new HttpRequestMessage(HttpMethod.Get, url), plain);
    }

    public override string TextOf(PlatformRequest reply) => reply.Json.GetProperty("text").GetProperty("content").GetString()!;

    public override void AssertAnswers(PlatformRequest reply, ImText message)
    {
        Assert.StartsWith("?access_token=w-", reply.Query, StringComparison.Ordinal);
        Assert.Equal(UserOf(message), reply.Json.GetProperty("touser").GetString());
        Assert.Equal(long.Parse(AgentId, CultureInfo.InvariantCulture), reply.Json.GetProperty("agentid").GetInt64());
    }
}
