using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Validation;

namespace Serverless.Relay.OAuth;

internal static class OAuthServiceCollectionExtensions
{
    /// <summary>OAuth accounts: token refresh with its lease, and PKCE authorizations (section <c>OAuth</c>).</summary>
    public static IServiceCollection AddOAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OAuthOptions>().Bind(configuration.GetSection(OAuthOptions.Section)).ValidateWith<OAuthOptions, OAuthOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton<OAuthTokens>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAccountMemory, OAuthTokens>(sp => sp.GetRequiredService<OAuthTokens>()));
        services.TryAddSingleton<PendingAuthorizationStore>();
        services.TryAddSingleton<PkceAuthorizations>();
        return services;
    }
}
