using Serverless.Relay.Admin;
using Serverless.Relay.Errors;
using Serverless.Relay.Functions;

namespace Serverless.Handler.Telemetry;

/// <summary>
/// <c>GET /metrics</c>: the Prometheus scrape of the relay's metrics, for the admin key or <c>RELAY_METRICS_KEY</c>
/// (bearer or <c>x-api-key</c>; wrong keys count against the address like the admin API's). 404 when Prometheus is off.
/// </summary>
internal sealed class MetricsFunction(AdminKeyFilter adminKey, TelemetryExporters exporters, IServiceProvider services) : IHttpFunction
{
    private readonly byte[]? _metricsKey = AdminKeyFilter.Digest(exporters.MetricsKey);
    private RequestDelegate? _scrape;

    public string Name => "Metrics";

    public Task InvokeAsync(HttpContext context)
    {
        if (adminKey.Authorize(context, _metricsKey) is { } refused)
        {
            return ((AdminResult)refused).ExecuteAsync(context);
        }

        if (!exporters.Prometheus)
        {
            return ((AdminResult)new RelayError(
                ErrorKind.NotFound,
                $"Prometheus metrics are off: set {TelemetryExporters.MetricsKeySetting}, or Telemetry__Prometheus=true to scrape with the admin key")).ExecuteAsync(context);
        }

        _scrape ??= BuildScrape(services);
        return _scrape(context);
    }

    /// <summary>
    /// The exporter's own middleware, which writes the scrape (text or OpenMetrics, by the Accept header). NOTE: it is
    /// internal to the package; its public entry is a pipeline branch, here one that takes every request it is given.
    /// </summary>
    private static RequestDelegate BuildScrape(IServiceProvider services)
    {
        var branch = new ApplicationBuilder(services);
        branch.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider: null, predicate: static _ => true, path: null, configureBranchedPipeline: null, optionsName: null);
        return branch.Build();
    }
}
