using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Functions;
using Serverless.Webhooks.Delivery;
using Serverless.Webhooks.Inbound;
using Serverless.Webhooks.Notifications;
using Serverless.Webhooks.Platforms;
using Serverless.Webhooks.Processing;

namespace Serverless.Webhooks;

public static class WebhooksServiceCollectionExtensions
{
    /// <summary>
    /// The IM area: channels and their state (<see cref="ChannelsServiceCollectionExtensions.AddChannels"/>), the five
    /// platforms, and the flow's three functions: the webhook (HTTP), ImProcess (<c>im-inbound</c>) and ImDeliver
    /// (<c>im-outbound</c>). The queue sender is chosen by the handler (<c>AddMessaging</c>), which knows its hosting mode.
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddChannels(configuration);
        services.AddImPlatforms(configuration);
        services.AddNotifications(configuration);
        services.AddSingleton<ImPlatforms>();
        services.AddSingleton<ChannelUserLimits>();
        services.AddSingleton<IHttpFunction, ImWebhookFunction>();
        services.AddSingleton<IQueueFunction, ImProcessFunction>();
        services.AddSingleton<IQueueFunction, ImDeliverFunction>();
        return services;
    }
}
