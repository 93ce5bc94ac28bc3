using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Relay.Failover;
using Serverless.Relay.OAuth;
using Serverless.Relay.Providers;
using Serverless.Relay.Sessions;

namespace Serverless.Relay.Accounts;

internal static class AccountPoolServiceCollectionExtensions
{
    /// <summary>
    /// The account pool: health marks and their events, the scheduler, model groups, sticky sessions, failover, and
    /// the pool's admin endpoints. Options from the <c>Accounts</c>, <c>Failover</c> and <c>Sessions</c> sections,
    /// validated at start-up.
    /// </summary>
    public static IServiceCollection AddAccountPool(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AccountHealthOptions>().Bind(configuration.GetSection(AccountHealthOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<FailoverOptions>().Bind(configuration.GetSection(FailoverOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SessionOptions>().Bind(configuration.GetSection(SessionOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OAuthOptions>().Bind(configuration.GetSection(OAuthOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddUpstreamHttp();
        services.TryAddSingleton<OAuthTokens>();
        services.TryAddSingleton<PendingAuthorizationStore>();
        services.TryAddSingleton<PkceAuthorizations>();
        services.TryAddSingleton<AccountEventLog>();
        services.TryAddSingleton<IAccountEventSink>(sp => sp.GetRequiredService<AccountEventLog>());
        services.TryAddSingleton<AccountHealth>();
        services.TryAddSingleton<ModelGroupStore>();
        services.TryAddSingleton<ModelGroupDirectory>();
        services.TryAddSingleton<IModelGroupDirectory>(sp => sp.GetRequiredService<ModelGroupDirectory>());
        services.TryAddSingleton<AccountScheduler>();
        services.TryAddSingleton<SessionBindings>();
        services.TryAddSingleton<FailoverExecutor>();
        return services;
    }
}
