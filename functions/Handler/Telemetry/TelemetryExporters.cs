using Serverless.Handler.Hosting;

namespace Serverless.Handler.Telemetry;

/// <summary>
/// The exporters the app settings ask for. None by default: then no OpenTelemetry pipeline is built at all, and the
/// relay's spans and instruments have no listener (a flag check on the hot path).
/// </summary>
/// <param name="OtlpEndpoint"><c>OTEL_EXPORTER_OTLP_ENDPOINT</c>: traces and metrics over OTLP (the SDK reads the other <c>OTEL_*</c> settings).</param>
/// <param name="AzureMonitorConnectionString"><c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>: traces and metrics to Application Insights.</param>
/// <param name="AzureMonitorAuthentication"><c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> (<c>ClientId=…;Authorization=AAD</c>): ingestion with the app's identity.</param>
/// <param name="Prometheus">Metrics for a Prometheus scrape at <c>GET /metrics</c>: on with <c>RELAY_METRICS_KEY</c> or <c>Telemetry__Prometheus=true</c>.</param>
/// <param name="MetricsKey"><c>RELAY_METRICS_KEY</c>: a bearer key that opens <c>/metrics</c> only (the admin key opens it too).</param>
/// <param name="Sampler">
/// <c>OTEL_TRACES_SAMPLER</c> when set (the SDK reads it and its argument); null means the relay's default, at most
/// <paramref name="TracesPerSecond"/> new traces a second per instance.
/// </param>
/// <param name="TracesPerSecond"><c>Telemetry__TracesPerSecond</c> (default <see cref="DefaultTracesPerSecond"/>).</param>
/// <param name="HttpMetrics">
/// <c>Telemetry__HttpMetrics</c>: ASP.NET Core's and HttpClient's own metrics (<c>http.server.*</c>, <c>http.client.*</c>,
/// <c>kestrel.*</c>) beside the relay's. Off by default: the GenAI metrics already time every relayed request.
/// </param>
/// <param name="RuntimeMetrics">
/// <c>Telemetry__RuntimeMetrics</c>: the runtime's own (<c>dotnet.gc.*</c>, <c>dotnet.process.*</c>,
/// <c>dotnet.thread_pool.*</c>): what the collector keeps committed against what is live, the pool's queue. Off by
/// default; read only when a scrape or export asks.
/// </param>
internal sealed record TelemetryExporters(
    string? OtlpEndpoint,
    string? AzureMonitorConnectionString,
    string? AzureMonitorAuthentication,
    bool Prometheus,
    string? MetricsKey,
    string? Sampler = null,
    double TracesPerSecond = TelemetryExporters.DefaultTracesPerSecond,
    bool HttpMetrics = false,
    bool RuntimeMetrics = false)
{
    /// <summary>
    /// Every request traced at the rates of a test or a quiet day; under load the spans cost a constant, not a share
    /// of every request (the bench's telemetry pair measures both).
    /// </summary>
    public const double DefaultTracesPerSecond = 10;

    public const string SamplerSetting = "OTEL_TRACES_SAMPLER";
    public const string TracesPerSecondSetting = "Telemetry:TracesPerSecond";
    public const string HttpMetricsSetting = "Telemetry:HttpMetrics";
    public const string RuntimeMetricsSetting = "Telemetry:RuntimeMetrics";
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string AzureMonitorSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AzureMonitorAuthenticationSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
    public const string MetricsKeySetting = "RELAY_METRICS_KEY";
    public const string PrometheusSetting = "Telemetry:Prometheus";

    /// <summary>Some exporter takes traces: spans are started and <c>x-trace-id</c> is answered.</summary>
    public bool Traces => OtlpEndpoint is not null || AzureMonitorConnectionString is not null;

    /// <summary>Some exporter takes metrics; false means no pipeline at all.</summary>
    public bool Metrics => Traces || Prometheus;

    public static TelemetryExporters From(IConfiguration configuration)
    {
        var metricsKey = Setting(configuration, MetricsKeySetting);
        return new TelemetryExporters(
            Setting(configuration, OtlpEndpointSetting),
            Setting(configuration, AzureMonitorSetting),
            Setting(configuration, AzureMonitorAuthenticationSetting),
            metricsKey is not null || configuration.GetValue<bool>(PrometheusSetting),
            metricsKey,
            Setting(configuration, SamplerSetting),
            TracesPerSecondFrom(configuration),
            configuration.GetValue<bool>(HttpMetricsSetting),
            configuration.GetValue<bool>(RuntimeMetricsSetting));
    }

    private static double TracesPerSecondFrom(IConfiguration configuration)
    {
        var value = configuration.GetValue(TracesPerSecondSetting, DefaultTracesPerSecond);
        return double.IsFinite(value) && value >= 0
            ? value
            : throw new HandlerSettingsException("Telemetry__TracesPerSecond must be a number of traces a second, 0 or more.");
    }

    private static string? Setting(IConfiguration configuration, string name) =>
        configuration[name] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}
