using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Serverless.Relay.Pricing;
using Serverless.Relay.Relaying;
using Serverless.Relay.Telemetry;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Limits;

internal static class LimitsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the key limiter (a hosted service: it flushes counters periodically and on stop), its Table-backed
    /// counters, the prompt token estimator and the quota reader. The limiter reports quotas reached to every registered
    /// <see cref="IKeyLimitEvents"/> (none here; notifications add one).
    /// </summary>
    public static IServiceCollection AddLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LimitOptions>().Bind(configuration.GetSection("Limits")).ValidateWith<LimitOptions, LimitOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton<TokenEstimator>();
        services.TryAddSingleton<ICounterStore, TableCounterStore>();
        services.TryAddSingleton<QuotaReader>();
        services.TryAddSingleton(sp => new KeyLimiter(
            sp.GetRequiredService<ICounterStore>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<LimitOptions>>(),
            new Lazy<TokenEstimator>(sp.GetRequiredService<TokenEstimator>),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<KeyLimiter>>(),
            new KeyLimitEventSinks([.. sp.GetServices<IKeyLimitEvents>()], sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<KeyLimitEventSinks>>()),
            sp.GetRequiredService<RelayMetrics>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<KeyLimiter>());
        return services;
    }
}
