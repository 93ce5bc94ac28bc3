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
internal sealed record TelemetryExporters(string? OtlpEndpoint, string? AzureMonitorConnectionString, string? AzureMonitorAuthentication, bool Prometheus, string? MetricsKey)
{
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
            metricsKey);
    }

    private static string? Setting(IConfiguration configuration, string name) =>
        configuration[name] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}
