using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// Sends one notification to a target of its <see cref="Type"/>, through <see cref="PlatformHttp"/> (no redirects,
/// no URL in logs). The outcome uses the platforms' mapping: delivered, retry after (429 or the type's own "too
/// fast" code), failed permanently (a 4xx, a refused token) or for now (network, 5xx).
/// </summary>
internal interface INotificationSender
{
    NotificationType Type { get; }

    Task<DeliveryResult> SendAsync(NotificationTarget target, string text, OutboundNotification notification, CancellationToken cancellationToken);
}
