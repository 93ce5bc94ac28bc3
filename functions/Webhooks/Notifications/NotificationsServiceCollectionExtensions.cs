using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Serverless.Relay.Accounts;
using Serverless.Relay.Admin;
using Serverless.Relay.Limits;
using Serverless.Relay.Secrets;
using Serverless.Relay.Validation;

namespace Serverless.Webhooks.Notifications;

internal static class NotificationsServiceCollectionExtensions
{
    /// <summary>
    /// Notification targets (admin routes under <c>/api/admin/notifications</c>), the sinks that turn account events and
    /// quotas reached into notifications (added beside the relay's own sinks), the background dispatcher, and the
    /// senders ImDeliver uses. Options from <c>Notifications</c>, checked at start-up. Needs the platforms' HTTP client.
    /// </summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NotificationOptions>().Bind(configuration.GetSection(NotificationOptions.Section)).ValidateWith<NotificationOptions, NotificationOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<NotificationStore>();
        services.AddEncryptedColumns(NotificationStore.EncryptedColumns);
        services.TryAddSingleton<NotificationBacklog>();
        services.TryAddSingleton<NotificationComposer>();
        services.TryAddSingleton<NotificationOutbox>();
        services.TryAddSingleton<NotificationDelivery>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAccountEventSink, AccountNotificationSink>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IKeyLimitEvents, QuotaNotificationSink>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, NotificationDispatcher>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<INotificationSender, TelegramNotificationSender>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<INotificationSender, SlackNotificationSender>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<INotificationSender, FeishuNotificationSender>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<INotificationSender, DingTalkNotificationSender>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<INotificationSender, WeComNotificationSender>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<INotificationSender, WebhookNotificationSender>());
        services.AddSingleton<IAdminEndpointGroup, NotificationEndpoints>();
        return services;
    }
}
