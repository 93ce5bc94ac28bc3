using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// Puts a notification for one target on <c>im-outbound</c>, the queue replies travel on (retries, back-off, dead
/// letters come with it). Session <c>notify:{targetId}</c>; ImDeliver hands <see cref="OutboundKind.Notification"/>
/// messages to <see cref="NotificationDelivery"/>.
/// </summary>
internal sealed class NotificationOutbox(IMessageSender sender)
{
    public Task SendAsync(NotificationTarget target, NotificationMessage message, CancellationToken cancellationToken)
    {
        var text = message.Text.Length <= NotificationMessage.MaxTextLength ? message.Text : message.Text[..(NotificationMessage.MaxTextLength - 1)] + "…";
        var reply = new OutboundReply(target.Id, message.Key, new ReplyTarget { ChatId = target.Id }, text, OutboundKind.Notification)
        {
            Notification = new OutboundNotification(target.Id, message.Event, message.Fields, message.At),
        };
        return sender.SendAsync(ImMessageIds.Notification(reply), cancellationToken);
    }
}
