using Microsoft.Extensions.Logging;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// ImDeliver's step for <see cref="OutboundKind.Notification"/> messages: sends to the target as its type does. A
/// failure for now (network, 5xx, 429, a "too fast" code) throws, so the queue delivers the message again with its
/// back-off and, after the max delivery count, dead-letters it; a permanent one (4xx, a refused token) is logged and
/// the message completes, since sending it again would only repeat it. A target deleted or disabled since is skipped
/// (a test is sent to a disabled target all the same: the admin asked for it).
/// </summary>
internal sealed partial class NotificationDelivery(NotificationStore targets, IEnumerable<INotificationSender> senders, ILogger<NotificationDelivery> logger)
{
    private readonly Dictionary<NotificationType, INotificationSender> _senders = senders.ToDictionary(s => s.Type);

    public async Task DeliverAsync(OutboundReply reply, CancellationToken cancellationToken)
    {
        if (reply.Notification is not { } notification)
        {
            Log.NotANotification(logger, reply.MessageKey);
            return;
        }

        var target = await targets.GetIfExistsAsync(notification.TargetId, cancellationToken).ConfigureAwait(false);
        if (target is null || (!target.Enabled && notification.Event != NotificationTypes.TestEvent))
        {
            Log.Skipped(logger, reply.MessageKey, notification.TargetId);
            return;
        }

        var result = await _senders[target.Type].SendAsync(target, reply.Text, notification, cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case DeliveryResult.Delivered:
                return;
            case DeliveryResult.Failed { Permanent: true } failed:
                Log.Refused(logger, reply.MessageKey, target.Id, failed.Reason);
                return;
            case DeliveryResult.Failed failed:
                throw new NotificationDeliveryException($"notification {reply.MessageKey} to target {target.Id} failed for now: {failed.Reason}");
            case DeliveryResult.RetryAfter:
                throw new NotificationDeliveryException($"notification {reply.MessageKey} to target {target.Id} was rate limited");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4130, Level = LogLevel.Error, Message = "im-outbound notification {MessageKey} carries no notification; dropped")]
        public static partial void NotANotification(ILogger logger, string messageKey);

        [LoggerMessage(EventId = 4131, Level = LogLevel.Information, Message = "Notification {MessageKey}: target {TargetId} deleted or disabled; skipped")]
        public static partial void Skipped(ILogger logger, string messageKey, string targetId);

        [LoggerMessage(EventId = 4132, Level = LogLevel.Warning, Message = "Notification {MessageKey} to target {TargetId} refused for good: {Reason}")]
        public static partial void Refused(ILogger logger, string messageKey, string targetId, string reason);
    }
}

/// <summary>A notification that failed for now; the queue delivers it again.</summary>
internal sealed class NotificationDeliveryException(string message) : Exception(message);
