using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Metering;

internal static class MeteringServiceCollectionExtensions
{
    /// <summary>The usage writer (a hosted service that drains on stop) and the hourly totals it keeps.</summary>
    public static IServiceCollection AddMetering(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<UsageWriterOptions>().Bind(configuration.GetSection(UsageWriterOptions.Section)).ValidateWith<UsageWriterOptions, UsageWriterOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UsageTotals>();
        services.TryAddSingleton<UsageWriter>();
        services.TryAddSingleton<IUsageSink>(sp => sp.GetRequiredService<UsageWriter>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<UsageWriter>());
        return services;
    }
}
