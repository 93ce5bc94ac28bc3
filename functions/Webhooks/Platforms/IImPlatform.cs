using Microsoft.AspNetCore.Http;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms;

/// <summary>A webhook as it arrived: the raw body bytes (signatures cover them exactly), headers and query.</summary>
internal sealed record WebhookRequest(string Method, ReadOnlyMemory<byte> Body, IHeaderDictionary Headers, IQueryCollection Query);

/// <summary>What a platform makes of one webhook.</summary>
internal abstract record WebhookVerdict
{
    /// <summary>A url-verification challenge, answered with this body (nothing enqueued).</summary>
    internal sealed record Challenge(string ContentType, string Body) : WebhookVerdict;

    /// <summary>Not from the platform (bad or missing signature, stale timestamp): 401/403, nothing enqueued.</summary>
    internal sealed record Refused(int Status, string Reason) : WebhookVerdict;

    /// <summary>Genuine but not for us to answer (a bot's message, an event type we do not handle): 200, nothing enqueued.</summary>
    internal sealed record Ignored(string Reason) : WebhookVerdict;

    /// <summary>A user's message to answer.</summary>
    internal sealed record Accepted(InboundMessage Message) : WebhookVerdict;
}

/// <summary>Where a reply goes and how it is threaded or quoted; plain strings so it travels in a queue message.</summary>
internal sealed record ReplyTarget
{
    /// <summary>Telegram chat.id, Slack channel, Feishu chat_id, DingTalk conversationId, WeCom user (FromUserName).</summary>
    public required string ChatId { get; init; }

    /// <summary>The message replied to (Telegram message_id, Feishu message_id).</summary>
    public string? MessageId { get; init; }

    /// <summary>Slack thread_ts (event.thread_ts ?? event.ts), Telegram message_thread_id.</summary>
    public string? ThreadId { get; init; }

    /// <summary>The sender to mention or address (DingTalk senderStaffId, WeCom touser).</summary>
    public string? UserId { get; init; }

    /// <summary>DingTalk's per-conversation reply URL and its expiry.</summary>
    public string? SessionWebhook { get; init; }

    public DateTimeOffset? SessionWebhookExpiresAt { get; init; }
}

/// <summary>One user message, platform-neutral.</summary>
internal sealed record InboundMessage
{
    /// <summary>The platform's dedup key: Telegram update_id, Slack event_id, Feishu message_id, DingTalk msgId, WeCom MsgId.</summary>
    public required string MessageKey { get; init; }

    /// <summary>The conversation (the Service Bus session): one chat, or one thread of it where the platform threads.</summary>
    public required string ConversationId { get; init; }

    public required string UserId { get; init; }

    /// <summary>The text with the bot's mention removed and trimmed.</summary>
    public required string Text { get; init; }

    public bool IsGroup { get; init; }

    /// <summary>A direct message, or a group message that mentions the bot or replies to it.</summary>
    public bool AddressedToBot { get; init; }

    public required ReplyTarget ReplyTo { get; init; }
}

/// <summary>How sending one reply part went.</summary>
internal abstract record DeliveryResult
{
    internal sealed record Delivered : DeliveryResult;

    /// <summary>The platform said 429: send again after this long (a scheduled message, not a failure).</summary>
    internal sealed record RetryAfter(TimeSpan Delay) : DeliveryResult;

    /// <summary>Permanent (bad token, chat gone, expired session webhook): not retried. Otherwise transient: the delivery fails and the queue redelivers.</summary>
    internal sealed record Failed(bool Permanent, string Reason) : DeliveryResult;
}

/// <summary>
/// One IM platform: reads its webhooks (verify on the raw body, answer challenges, parse) and sends replies through its
/// API at <see cref="Channel.ApiBaseUrl"/>. Verification compares in constant time and never logs a credential.
/// </summary>
internal interface IImPlatform
{
    ImPlatform Platform { get; }

    /// <summary>The longest text one reply part may have, measured as the platform measures it (see <see cref="MeasureText"/>).</summary>
    int MaxTextLength { get; }

    /// <summary>Characters for most platforms, UTF-8 bytes for WeCom.</summary>
    int MeasureText(string text);

    WebhookVerdict Read(Channel channel, WebhookRequest request, DateTimeOffset now);

    /// <summary>Sends one part (already within <see cref="MaxTextLength"/>). <paramref name="partKey"/> is stable across retries of that part, for platforms that dedupe sends (Feishu uuid).</summary>
    Task<DeliveryResult> SendAsync(Channel channel, ReplyTarget target, string text, string partKey, CancellationToken cancellationToken);
}
