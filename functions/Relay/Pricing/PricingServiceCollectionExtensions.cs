using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Pricing;

internal static class PricingServiceCollectionExtensions
{
    /// <summary>The price book: the table in force, cached.</summary>
    public static IServiceCollection AddPricing(this IServiceCollection services)
    {
        services.TryAddSingleton<PriceBook>();
        return services;
    }
}
