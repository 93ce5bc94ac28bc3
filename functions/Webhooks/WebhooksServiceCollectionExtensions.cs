using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Functions;
using Serverless.Webhooks.Delivery;
using Serverless.Webhooks.Inbound;
using Serverless.Webhooks.Platforms;
using Serverless.Webhooks.Processing;

namespace Serverless.Webhooks;

public static class WebhooksServiceCollectionExtensions
{
    /// <summary>The IM flow's three functions: the webhook (HTTP), ImProcess (im-inbound) and ImDeliver (im-outbound).</summary>
    public static IServiceCollection AddImFunctions(this IServiceCollection services)
    {
        services.AddSingleton<ImPlatforms>();
        services.AddSingleton<ChannelUserLimits>();
        services.AddSingleton<IHttpFunction, ImWebhookFunction>();
        services.AddSingleton<IQueueFunction, ImProcessFunction>();
        services.AddSingleton<IQueueFunction, ImDeliverFunction>();
        return services;
    }
}
