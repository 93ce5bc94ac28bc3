using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Serverless.Relay.Telemetry;

internal static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// The relay's meter (from the host's <see cref="IMeterFactory"/>, disposed with it) and the instruments every folder
    /// records into. No exporter: without the handler's OpenTelemetry pipeline nothing listens and nothing is kept.
    /// </summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services)
    {
        services.AddMetrics();
        // NOTE: the factory hands out one meter per name, so both share it.
        services.TryAddSingleton(static sp => new GenAiTelemetry(sp.GetRequiredService<IMeterFactory>().Create(RelayTelemetry.Name)));
        services.TryAddSingleton(static sp => new RelayMetrics(sp.GetRequiredService<IMeterFactory>().Create(RelayTelemetry.Name)));
        return services;
    }
}
