using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Keys;

internal static class KeysServiceCollectionExtensions
{
    /// <summary>Relay keys: their store, the cached authenticator and the failed-authentication throttle (section <c>FailedAuth</c>).</summary>
    public static IServiceCollection AddKeys(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FailedAuthThrottleOptions>().Bind(configuration.GetSection(FailedAuthThrottleOptions.Section)).ValidateWith<FailedAuthThrottleOptions, FailedAuthThrottleOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ClientKeyStore>();
        services.TryAddSingleton<ClientKeyAuthenticator>();
        services.TryAddSingleton<IClientKeyAuthenticator>(sp => sp.GetRequiredService<ClientKeyAuthenticator>());
        services.TryAddSingleton<FailedAuthThrottle>();
        return services;
    }
}
