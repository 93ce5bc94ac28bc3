using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Relay.Secrets;
using Serverless.Webhooks.Platforms.DingTalk;
using Serverless.Webhooks.Platforms.Feishu;
using Serverless.Webhooks.Platforms.Slack;
using Serverless.Webhooks.Platforms.Telegram;
using Serverless.Webhooks.Platforms.WeCom;
using Serverless.Relay.Validation;

namespace Serverless.Webhooks.Platforms;

internal static class PlatformsServiceCollectionExtensions
{
    /// <summary>
    /// The five IM platforms (every <see cref="IImPlatform"/>, resolved as <c>IEnumerable&lt;IImPlatform&gt;</c>), their
    /// HTTP client and the access token cache (section <c>ImPlatforms</c>). Needs the relay's storage and secrets.
    /// </summary>
    public static IServiceCollection AddImPlatforms(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PlatformOptions>().Bind(configuration.GetSection(PlatformOptions.Section)).ValidateWith<PlatformOptions, PlatformOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<PlatformHttp>();
        services.TryAddSingleton<PlatformTokenStore>();
        services.AddEncryptedColumns(PlatformTokenStore.EncryptedColumns);
        services.TryAddSingleton<PlatformTokenCache>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IImPlatform, TelegramPlatform>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IImPlatform, SlackPlatform>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IImPlatform, FeishuPlatform>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IImPlatform, DingTalkPlatform>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IImPlatform, WeComPlatform>());
        return services;
    }
}
