using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Platforms;
using Serverless.Webhooks.Platforms.DingTalk;
using Serverless.Webhooks.Platforms.Slack;

namespace Serverless.Webhooks.Notifications;

/// <summary>A Telegram bot's <c>sendMessage</c> to a chat (<c>chatId</c>: a number, or <c>@channel</c>), at <c>apiBaseUrl</c> or Telegram's API.</summary>
internal sealed class TelegramNotificationSender(PlatformHttp http) : INotificationSender
{
    public NotificationType Type => NotificationType.Telegram;

    public Task<DeliveryResult> SendAsync(NotificationTarget target, string text, OutboundNotification notification, CancellationToken cancellationToken)
    {
        var chat = target.Setting(NotificationTypes.ChatId)!;
        var body = new JsonObject
        {
            ["chat_id"] = long.TryParse(chat, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var chatId) ? chatId : chat,
            ["text"] = text,
        };
        var origin = new Uri(target.Setting(NotificationTypes.ApiBaseUrl) ?? NotificationTypes.TelegramApi);

        // NOTE: the token is in the URL path; no reason or log line carries the URL.
        var url = PlatformApi.Join(origin, "bot" + target.Setting(NotificationTypes.BotToken) + "/sendMessage");
        return NotificationApi.PostAsync(http.Client, PlatformApi.Post(url, body), "Telegram", answer => PlatformApi.FromStatus(answer, "Telegram"), cancellationToken);
    }
}

/// <summary>A Slack incoming webhook (<c>{"text": …}</c>, escaped as chat.postMessage's); it answers <c>ok</c> or a 4xx naming the problem.</summary>
internal sealed class SlackNotificationSender(PlatformHttp http) : INotificationSender
{
    public NotificationType Type => NotificationType.Slack;

    public Task<DeliveryResult> SendAsync(NotificationTarget target, string text, OutboundNotification notification, CancellationToken cancellationToken) =>
        NotificationApi.PostAsync(http.Client, PlatformApi.Post(new Uri(target.Setting(NotificationTypes.Url)!), new JsonObject { ["text"] = SlackText.Escape(text) }),
            "Slack", answer => PlatformApi.FromStatus(answer, "Slack"), cancellationToken);
}

/// <summary>
/// A Feishu (Lark) custom bot. With a <c>secret</c> (the bot's signature check) the body carries <c>timestamp</c>
/// (seconds) and <c>sign</c> = Base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = empty)).
/// </summary>
internal sealed class FeishuNotificationSender(PlatformHttp http, TimeProvider time) : INotificationSender
{
    /// <summary>"frequency limited": wait and send again.</summary>
    private static readonly long[] RateLimited = [11232];

    public NotificationType Type => NotificationType.Feishu;

    public static string Sign(string secret, string timestamp) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(timestamp + "\n" + secret), Array.Empty<byte>()));

    public Task<DeliveryResult> SendAsync(NotificationTarget target, string text, OutboundNotification notification, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["msg_type"] = "text", ["content"] = new JsonObject { ["text"] = text } };
        if (target.Setting(NotificationTypes.Secret) is { } secret)
        {
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            body["timestamp"] = timestamp;
            body["sign"] = Sign(secret, timestamp);
        }

        return NotificationApi.PostAsync(http.Client, PlatformApi.Post(new Uri(target.Setting(NotificationTypes.Url)!), body),
            "Feishu", answer => NotificationApi.ReadCode(answer, "Feishu", ["code", "StatusCode"], RateLimited), cancellationToken);
    }
}

/// <summary>
/// A DingTalk custom robot. With a <c>secret</c> ("SEC…") the URL gets <c>&amp;timestamp=</c> (ms) and <c>&amp;sign=</c>
/// = urlencode(Base64(HMAC-SHA256(secret, timestamp + "\n" + secret))), the formula <see cref="DingTalkSignature"/> checks.
/// </summary>
internal sealed class DingTalkNotificationSender(PlatformHttp http, TimeProvider time) : INotificationSender
{
    /// <summary>"send too fast" (20 messages a minute per robot): wait and send again.</summary>
    private static readonly long[] RateLimited = [130101];

    public NotificationType Type => NotificationType.DingTalk;

    public static Uri SignedUrl(string url, string? secret, DateTimeOffset now)
    {
        if (secret is null)
        {
            return new Uri(url);
        }

        var timestamp = now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var separator = url.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        return new Uri($"{url}{separator}timestamp={timestamp}&sign={Uri.EscapeDataString(DingTalkSignature.Compute(secret, timestamp))}");
    }

    public Task<DeliveryResult> SendAsync(NotificationTarget target, string text, OutboundNotification notification, CancellationToken cancellationToken)
    {
        var url = SignedUrl(target.Setting(NotificationTypes.Url)!, target.Setting(NotificationTypes.Secret), time.GetUtcNow());
        var body = new JsonObject { ["msgtype"] = "text", ["text"] = new JsonObject { ["content"] = text } };
        return NotificationApi.PostAsync(http.Client, PlatformApi.Post(url, body),
            "DingTalk", answer => NotificationApi.ReadCode(answer, "DingTalk", ["errcode"], RateLimited), cancellationToken);
    }
}

/// <summary>A WeCom group robot webhook (<c>{"msgtype":"text","text":{"content":…}}</c>); the key is in the URL.</summary>
internal sealed class WeComNotificationSender(PlatformHttp http) : INotificationSender
{
    /// <summary>"api freq out of limit" (20 messages a minute per robot): wait and send again.</summary>
    private static readonly long[] RateLimited = [45009];

    public NotificationType Type => NotificationType.WeCom;

    public Task<DeliveryResult> SendAsync(NotificationTarget target, string text, OutboundNotification notification, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["msgtype"] = "text", ["text"] = new JsonObject { ["content"] = text } };
        return NotificationApi.PostAsync(http.Client, PlatformApi.Post(new Uri(target.Setting(NotificationTypes.Url)!), body),
            "WeCom", answer => NotificationApi.ReadCode(answer, "WeCom", ["errcode"], RateLimited), cancellationToken);
    }
}
