using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Relay.Connections;

namespace Serverless.Webhooks.Messaging;

internal static class MessagingServiceCollectionExtensions
{
    /// <summary>
    /// The <see cref="IMessageSender"/> of the IM queues. Local mode: the Storage queues the local host triggers from
    /// (always: it cannot play a Service Bus trigger, so a message sent to a real namespace would never be handled here).
    /// Behind the Functions host: Service Bus when <c>ServiceBusConnection__fullyQualifiedNamespace</c> is set (its
    /// settings checked at start-up), otherwise a sender that fails naming that setting; start-up does not fail, since
    /// the client APIs need no queue.
    /// </summary>
    public static IServiceCollection AddMessaging(this IServiceCollection services, IConfiguration configuration, bool isLocal)
    {
        if (isLocal)
        {
            services.TryAddSingleton<LocalQueues>();
            services.TryAddSingleton<LocalQueueWakeup>();
            services.TryAddSingleton<LocalDuplicateDetection>();
            services.TryAddSingleton<IMessageSender, StorageQueueMessageSender>();
            return services;
        }

        var ns = configuration.GetSection(ServiceBusConnectionOptions.ConnectionName)["fullyQualifiedNamespace"];
        if (string.IsNullOrWhiteSpace(ns))
        {
            services.TryAddSingleton<IMessageSender, UnconfiguredMessageSender>();
            return services;
        }

        services.AddServiceBusConnection(configuration);
        services.TryAddSingleton<IMessageSender, ServiceBusMessageSender>();
        return services;
    }
}
