using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Messaging;

/// <summary>
/// Session and message ids of the IM queues, in one place. The session is the conversation within its channel, so one
/// chat is handled in order; each step of one platform message has its own id, so the queue's duplicate detection drops
/// a second send of that step (a redelivered ImProcess sending its reply again) and nothing else.
/// </summary>
internal static class ImMessageIds
{
    /// <summary>
    /// How long the queues remember a <c>MessageId</c> (infra/bicep <c>duplicateDetectionHistoryTimeWindow</c>, and the
    /// local stand-in): a second send of one step within it is dropped, so a step may be sent again safely within it.
    /// </summary>
    public static readonly TimeSpan DuplicateDetectionWindow = TimeSpan.FromMinutes(10);

    public static string Session(string channelId, string conversationId) => channelId + ":" + conversationId;

    public static OutgoingMessage Inbound(string channelId, InboundMessage message, DateTimeOffset receivedAt) =>
        new(ImQueues.Inbound, ImMessages.Write(new InboundWork(channelId, message, receivedAt)),
            channelId + ":" + message.MessageKey, Session(channelId, message.ConversationId));

    /// <summary>The reply (or notice) to a pending message; <paramref name="step"/> tells a later part or a retry apart.</summary>
    public static OutgoingMessage Outbound(OutboundReply reply, string sessionId, string step = "reply") =>
        new(ImQueues.Outbound, ImMessages.Write(reply), reply.ChannelId + ":" + reply.MessageKey + ":" + step, sessionId);

    /// <summary>
    /// A notification to a target: one session per target (its notifications go out in order, and one slow target
    /// does not hold up another); the id is the target and the event's key, so a second send of the same event within
    /// the queue's duplicate detection window (another instance raising it too) is dropped.
    /// </summary>
    public static OutgoingMessage Notification(OutboundReply notification) =>
        new(ImQueues.Outbound, ImMessages.Write(notification), "notify:" + notification.ChannelId + ":" + notification.MessageKey, "notify:" + notification.ChannelId);
}
