using System.Net;
using System.Text.Json.Nodes;
using Serverless.Relay.Formats.Json;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms.DingTalk;

/// <summary>
/// DingTalk enterprise robots over HTTP (<see href="https://open.dingtalk.com/document/orgapp/receive-message"/>):
/// signed callbacks deduplicated on <c>msgId</c>; a group delivers only messages that @ the robot (with the @ already
/// taken out of <c>text.content</c>), so every message is addressed to it. Replies go to the message's
/// <c>sessionWebhook</c>, which needs no access token, until <c>sessionWebhookExpiredTime</c>.
/// NOTE: the sessionWebhook comes from the request body, which the signature does not cover: it is used only on the
/// channel's API origin (DingTalk's by default), so a forged body can never make the relay call another host.
/// </summary>
internal sealed class DingTalkPlatform(PlatformHttp http, TimeProvider time) : IImPlatform
{
    public const string AppKey = "appKey";
    public const string AppSecret = "appSecret";
    private const string Name = "DingTalk";

    /// <summary>DingTalk's "system busy" code: worth another try; other non-zero codes are permanent.</summary>
    private const long SystemBusy = -1;

    /// <summary>DingTalk's "sending too fast" code for robots.</summary>
    private const long TooFast = 130101;

    public ImPlatform Platform => ImPlatform.DingTalk;

    /// <summary>
    /// DingTalk documents no limit for a robot's text message. 4000 characters (Slack's advice) keeps parts readable on
    /// a phone, and a part that were too long would be refused outright (a permanent failure), so this errs low.
    /// </summary>
    public int MaxTextLength => 4000;

    public int MeasureText(string text) => text.Length;

    public WebhookVerdict Read(Channel channel, WebhookRequest request, DateTimeOffset now)
    {
        // :: Step 1: the signature of the timestamp, and its age.
        var reason = channel.Credential(AppSecret) is { Length: > 0 } secret
            ? DingTalkSignature.Check(secret, WebhookReading.Header(request, "timestamp"), WebhookReading.Header(request, "sign"), now)
            : "the channel has no appSecret";
        if (reason is not null)
        {
            return new WebhookVerdict.Refused(401, "DingTalk signature: " + reason);
        }

        // :: Step 2: the message.
        using var document = WebhookReading.ParseObject(request.Body);
        if (document is null)
        {
            return WebhookReading.Malformed("not a JSON DingTalk message");
        }

        var root = document.RootElement;
        if (JsonFields.GetString(root, "msgId") is not { } msgId || JsonFields.GetString(root, "conversationId") is not { } conversationId)
        {
            return WebhookReading.Malformed("message without msgId or conversationId");
        }

        if ((JsonFields.GetString(root, "senderStaffId") ?? JsonFields.GetString(root, "senderId")) is not { } userId)
        {
            return WebhookReading.Malformed("message without senderStaffId or senderId");
        }

        if (JsonFields.GetString(root, "msgtype") is var type && type != "text")
        {
            return WebhookReading.NotText(type ?? "none");
        }

        if (!JsonFields.TryGetPresent(root, "text", out var text) || JsonFields.GetString(text, "content") is not { } content)
        {
            return WebhookReading.Malformed("text message without text.content");
        }

        var expires = JsonFields.GetInt64(root, "sessionWebhookExpiredTime") is { } ms && ms > 0 && ms < DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : (DateTimeOffset?)null;
        return new WebhookVerdict.Accepted(new InboundMessage
        {
            MessageKey = msgId,
            ConversationId = conversationId,
            UserId = userId,
            Text = content.Trim(),
            IsGroup = JsonFields.GetString(root, "conversationType") == "2",
            AddressedToBot = true,
            ReplyTo = new ReplyTarget
            {
                ChatId = conversationId,
                UserId = JsonFields.GetString(root, "senderStaffId"),
                SessionWebhook = JsonFields.GetString(root, "sessionWebhook"),
                SessionWebhookExpiresAt = expires,
            },
        });
    }

    public async Task<DeliveryResult> SendAsync(Channel channel, ReplyTarget target, string text, string partKey, CancellationToken cancellationToken)
    {
        // :: Step 1: only a live session webhook on the channel's own API origin.
        if (!Uri.TryCreate(target.SessionWebhook, UriKind.Absolute, out var webhook) || !SameOrigin(webhook, channel.ApiBaseUrl))
        {
            return new DeliveryResult.Failed(true, "the sessionWebhook is missing or not on the channel's API origin");
        }

        if (target.SessionWebhookExpiresAt is not { } expires || expires <= time.GetUtcNow())
        {
            return new DeliveryResult.Failed(true, "the sessionWebhook has expired");
        }

        // :: Step 2: send, mentioning the sender in a group.
        var body = new JsonObject { ["msgtype"] = "text", ["text"] = new JsonObject { ["content"] = text } };
        if (target.UserId is { } user)
        {
            body["at"] = new JsonObject { ["atUserIds"] = new JsonArray(user) };
        }

        using var request = PlatformApi.Post(webhook, body);
        var (answer, failure) = await PlatformApi.SendAsync(http.Client, request, Name, cancellationToken).ConfigureAwait(false);
        if (answer is null)
        {
            return failure!;
        }

        var code = answer.Json() is { } json ? JsonFields.GetInt64(json, "errcode") : null;
        return code switch
        {
            0 when answer.Status == HttpStatusCode.OK => new DeliveryResult.Delivered(),
            TooFast => new DeliveryResult.RetryAfter(answer.RetryAfter ?? PlatformApi.DefaultRetryAfter),
            SystemBusy => new DeliveryResult.Failed(false, "DingTalk API is busy (errcode -1)"),
            _ when answer.Status == HttpStatusCode.TooManyRequests || (int)answer.Status >= 500 => PlatformApi.FromStatus(answer, Name),
            { } error => new DeliveryResult.Failed(true, $"DingTalk API errcode {error}"),
            null when answer.Status == HttpStatusCode.OK => new DeliveryResult.Failed(false, "DingTalk API answered without an errcode"),
            null => PlatformApi.FromStatus(answer, Name),
        };
    }

    /// <summary>Scheme, host and port equal (the default port of the scheme counts as given).</summary>
    internal static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port
        && string.IsNullOrEmpty(a.UserInfo);
}
