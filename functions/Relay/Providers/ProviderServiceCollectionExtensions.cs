using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Providers;

internal static class ProviderServiceCollectionExtensions
{
    /// <summary>The one <see cref="UpstreamHttp"/> client, shared by relaying and OAuth token refreshes; safe to call from each.</summary>
    public static IServiceCollection AddUpstreamHttp(this IServiceCollection services)
    {
        // NOTE: bound from the container's configuration when there is one: some hosts (tests of storage checks) have none.
        services.AddOptions<UpstreamHttpOptions>()
            .Configure<IServiceProvider>((options, provider) => provider.GetService<IConfiguration>()?.GetSection(UpstreamHttpOptions.Section).Bind(options))
            .ValidateWith<UpstreamHttpOptions, UpstreamHttpOptionsValidator>()
            .ValidateOnStart();
        services.TryAddSingleton<UpstreamHttp>();
        return services;
    }
}
