using System.Diagnostics;
using Azure.Monitor.OpenTelemetry.Exporter;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serverless.Relay.Connections;
using Serverless.Relay.Functions;
using Serverless.Relay.Telemetry;

namespace Serverless.Handler.Telemetry;

/// <summary>
/// The OpenTelemetry SDK, built only when <see cref="TelemetryExporters"/> names an exporter: the relay's source and
/// meter (<see cref="RelayTelemetry.Name"/>), ASP.NET Core's request activity (the parent of the relay's span, and the
/// reader of a client's <c>traceparent</c>) and the upstream HttpClient, with the exporters configured.
/// </summary>
internal static class TelemetryPipeline
{
    private const string DefaultServiceName = "serverless-llm-relay";

    public static WebApplicationBuilder AddTelemetryPipeline(this WebApplicationBuilder builder)
    {
        var exporters = TelemetryExporters.From(builder.Configuration);
        builder.Services.AddSingleton(exporters);
        builder.Services.AddSingleton<IHttpFunction, MetricsFunction>();
        if (!exporters.Metrics)
        {
            // NOTE: nothing at all, not an SDK without exporters: its listeners alone would enable every instrument.
            return builder;
        }

        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Configuration["WEBSITE_SITE_NAME"] ?? DefaultServiceName;
        var otel = builder.Services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(serviceName));
        if (exporters.Traces)
        {
            otel.WithTracing(tracing =>
            {
                tracing
                    .AddSource(RelayTelemetry.Name)
                    .AddAspNetCoreInstrumentation(o => o.EnrichWithHttpRequest = static (activity, _) => activity.SetTag("url.query", null))
                    .AddHttpClientInstrumentation(o => o.EnrichWithHttpRequestMessage = static (activity, request) => WithoutQuery(activity, request));
                if (exporters.OtlpEndpoint is not null)
                {
                    tracing.AddOtlpExporter();
                }

                if (exporters.AzureMonitorConnectionString is not null)
                {
                    tracing.AddAzureMonitorTraceExporter(o => AzureMonitor(o, exporters));
                }

                // NOTE: after the exporters, so no exporter's own default replaces it; an OTEL_TRACES_SAMPLER the
                // operator set is left to the SDK. Parent-based: a client's sampled traceparent is followed.
                if (exporters.Sampler is null)
                {
                    tracing.SetSampler(new ParentBasedSampler(new TracesPerSecondSampler(exporters.TracesPerSecond, TimeProvider.System)));
                }
            });
        }

        otel.WithMetrics(metrics =>
        {
            metrics.AddMeter(RelayTelemetry.Name);
            if (exporters.HttpMetrics)
            {
                metrics
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
            }

            if (exporters.OtlpEndpoint is not null)
            {
                metrics.AddOtlpExporter();
            }

            if (exporters.AzureMonitorConnectionString is not null)
            {
                metrics.AddAzureMonitorMetricExporter(o => AzureMonitor(o, exporters));
            }

            if (exporters.Prometheus)
            {
                metrics.AddPrometheusExporter();
            }
        });
        return builder;
    }

    /// <summary>
    /// NOTE: a URL's query can hold a credential (Gemini's <c>?key=</c>); the instrumentations redact its values, and
    /// the relay drops it altogether rather than rely on that.
    /// </summary>
    private static void WithoutQuery(Activity activity, HttpRequestMessage request)
    {
        if (request.RequestUri is { Query.Length: > 0 } uri)
        {
            activity.SetTag("url.full", uri.GetLeftPart(UriPartial.Path));
        }
    }

    /// <summary>The connection string, and the app's identity when the authentication string asks for Entra ingestion.</summary>
    private static void AzureMonitor(AzureMonitorExporterOptions options, TelemetryExporters exporters)
    {
        options.ConnectionString = exporters.AzureMonitorConnectionString;
        if (exporters.AzureMonitorAuthentication is not { } authentication
            || !authentication.Contains("Authorization=AAD", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        string? clientId = null;
        foreach (var part in authentication.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.StartsWith("ClientId=", StringComparison.OrdinalIgnoreCase))
            {
                clientId = part["ClientId=".Length..];
            }
        }

        options.Credential = new ConnectionCredential(CredentialKind.ManagedIdentity, clientId).Create();
    }
}
