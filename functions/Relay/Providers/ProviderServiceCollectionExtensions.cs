using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Serverless.Relay.Providers;

internal static class ProviderServiceCollectionExtensions
{
    /// <summary>The one <see cref="UpstreamHttp"/> client, shared by relaying and OAuth token refreshes; safe to call from each.</summary>
    public static IServiceCollection AddUpstreamHttp(this IServiceCollection services)
    {
        services.AddOptions<UpstreamHttpOptions>().BindConfiguration(UpstreamHttpOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<UpstreamHttp>();
        return services;
    }
}
