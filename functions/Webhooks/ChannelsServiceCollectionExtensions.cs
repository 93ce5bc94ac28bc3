using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Relay.Admin;
using Serverless.Relay.Secrets;
using Serverless.Webhooks.ChannelAdmin;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Conversations;
using Serverless.Webhooks.Pending;
using Serverless.Relay.Validation;

namespace Serverless.Webhooks;

public static class ChannelsServiceCollectionExtensions
{
    /// <summary>
    /// The state of IM channels: the channel store (and its admin routes under <c>/api/admin/channels</c>), pending
    /// messages and conversations, with their settings (<c>Pending__Ttl</c>, <c>Pending__Keep</c>,
    /// <c>Conversation__MaxTurns</c>, <c>Conversation__MaxTokens</c>) checked at start-up.
    /// </summary>
    public static IServiceCollection AddChannels(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PendingOptions>().Bind(configuration.GetSection(PendingOptions.Section)).ValidateWith<PendingOptions, PendingOptionsValidator>().ValidateOnStart();
        services.AddOptions<ConversationOptions>().Bind(configuration.GetSection(ConversationOptions.Section)).ValidateWith<ConversationOptions, ConversationOptionsValidator>().ValidateOnStart();

        services.TryAddSingleton<ChannelStore>();
        services.AddEncryptedColumns(ChannelStore.EncryptedColumns);
        services.TryAddSingleton<PendingMessages>();
        services.TryAddSingleton<ConversationStore>();
        services.AddSingleton<IAdminEndpointGroup, ChannelEndpoints>();
        return services;
    }
}
