using System.Diagnostics;
using System.Diagnostics.Metrics;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.AspNetCore.Http.Features;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serverless.Relay.Connections;
using Serverless.Relay.Functions;
using Serverless.Relay.Telemetry;
using Serverless.Relay.Validation;

namespace Serverless.Handler.Telemetry;

/// <summary>
/// The OpenTelemetry SDK, built only when <see cref="TelemetryExporters"/> names an exporter: the relay's source and
/// meter (<see cref="RelayTelemetry.Name"/>), ASP.NET Core's request activity (the parent of the relay's span, and the
/// reader of a client's <c>traceparent</c>) and the upstream HttpClient, with the exporters configured.
/// </summary>
/// <remarks>
/// NOTE: no instrumentation library. The relay subscribes to ASP.NET Core's and HttpClient's own activity sources:
/// HttpClient (since .NET 9) tags its activities with the HTTP semantic conventions itself, and the request span gets
/// its tags from <see cref="UseTelemetryPipeline"/>, only once it is known to be recorded. The instrumentation
/// libraries listened to DiagnosticListener events on every request, sampled or not (about 2 % of the relay's CPU at
/// concurrency 64 in a profile); ASP.NET Core 10's own tags, switched on, cost as much again, because it builds them
/// for every request before the sampler decides (bench/ANALYSIS.md).
/// </remarks>
internal static class TelemetryPipeline
{
    private const string DefaultServiceName = "serverless-llm-relay";

    /// <summary>ASP.NET Core's request activities and meters, and HttpClient's.</summary>
    private const string AspNetCore = "Microsoft.AspNetCore";
    private const string HttpClient = "System.Net.Http";

    /// <summary>The most series any of the relay's own <c>relay.*</c> instruments can have (<see cref="BoundedStreams"/>).</summary>
    internal const int RelayCounterSeries = 64;

    /// <summary>The runtime's meter (<c>Telemetry__RuntimeMetrics</c>).</summary>
    internal const string RuntimeMeter = "System.Runtime";

    /// <summary>The most series any of the runtime's instruments can have (<see cref="BoundedStreams"/>).</summary>
    internal const int RuntimeSeries = 256;

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

        if (exporters.AzureMonitorConnectionString is not null)
        {
            // NOTE: closed, as ClosedGenerics closes the framework's: the exporter resolves these options while the meter
            // provider is built, before the handler listens, and from the open generic the native build made their types
            // at start-up, 6 ms of a start as deployed (bench/ANALYSIS.md, "Readiness as deployed: the exporter's
            // options closed").
            ValidatedOptions.AddClosedOptionsServices<AzureMonitorExporterOptions>(builder.Services);
        }

        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Configuration["WEBSITE_SITE_NAME"] ?? DefaultServiceName;
        var otel = builder.Services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(serviceName));
        if (exporters.Traces)
        {
            otel.WithTracing(tracing =>
            {
                tracing
                    .AddSource(RelayTelemetry.Name, AspNetCore, HttpClient)
                    .AddProcessor(new UrlQueryRedaction()); // before the exporters' processors
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

        builder.Services.ConfigureOpenTelemetryMeterProvider(static (services, metrics) => metrics.AddView(BoundedStreams(services.GetRequiredService<IMeterFactory>())));
        otel.WithMetrics(metrics =>
        {
            metrics.AddMeter(RelayTelemetry.Name);
            if (exporters.HttpMetrics)
            {
                metrics.AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", HttpClient);
            }

            if (exporters.RuntimeMetrics)
            {
                metrics.AddMeter(RuntimeMeter);
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
    /// With traces on: the HTTP server span's semantic-convention tags on ASP.NET Core's request activity, when the
    /// request has been answered, and only if that span is recorded (a sampled-out request pays one check). Nothing at
    /// all without a trace exporter. The query is never tagged (<see cref="UrlQueryRedaction"/>).
    /// </summary>
    public static WebApplication UseTelemetryPipeline(this WebApplication app)
    {
        if (app.Services.GetRequiredService<TelemetryExporters>().Traces)
        {
            // NOTE: the sampler decided when ASP.NET Core started the activity, before this runs, so a request whose
            // span is not recorded goes straight on, without an async frame around the rest of the pipeline.
            app.Use(static (context, next) =>
                context.Features.Get<IHttpActivityFeature>()?.Activity is { IsAllDataRequested: true } activity
                    ? TagWhenAnsweredAsync(activity, context, next)
                    : next(context));
        }

        return app;
    }

    private static async Task TagWhenAnsweredAsync(Activity activity, HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        finally
        {
            TagServerSpan(activity, context);
        }
    }

    private static void TagServerSpan(Activity activity, HttpContext context)
    {
        var request = context.Request;
        var status = context.Response.StatusCode;
        activity.DisplayName = request.Method;
        activity.SetTag("http.request.method", request.Method);
        activity.SetTag("url.scheme", request.Scheme);
        activity.SetTag("url.path", request.PathBase.Add(request.Path).Value);
        activity.SetTag("server.address", request.Host.Host);
        if (request.Host.Port is { } port)
        {
            activity.SetTag("server.port", port);
        }

        activity.SetTag("network.protocol.version", request.Protocol.StartsWith("HTTP/", StringComparison.Ordinal) ? request.Protocol[5..] : request.Protocol);
        activity.SetTag("http.response.status_code", status);
        if (status >= 500)
        {
            activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Smaller stores than the SDK's 2,000 series for the instruments whose series are few by construction: the relay's
    /// own counters and gauges (<c>relay.*</c>, <see cref="RelayCounterSeries"/>: each carries at most one tag of a few
    /// fixed values) and the runtime's (<see cref="RuntimeSeries"/>: a GC generation, a CPU mode, and for exceptions
    /// their type, the one open tag). The GenAI histograms keep the default: their series grow with the models served.
    /// </summary>
    /// <remarks>
    /// NOTE: the SDK allocates and fills each instrument's store for its whole limit when the instrument is published
    /// to the meter provider, before the handler listens. At 2,000 the relay's counters were half of what Application
    /// Insights added to the CPU of a start, and the runtime's twenty-odd stores (on the large-object heap at that
    /// size) cost a full collection during the start (bench/ANALYSIS.md, "Readiness with telemetry on" and "Runtime
    /// metrics at start"). The relay's counters of this host's meter factory only: an SDK sees every meter of the name
    /// in the process (several hosts in the tests), and another host's streams are not its to shape.
    /// </remarks>
    internal static Func<Instrument, MetricStreamConfiguration?> BoundedStreams(IMeterFactory ownMeters) =>
        instrument => instrument.Meter.Name switch
        {
            RelayTelemetry.Name when instrument.Meter.Scope == ownMeters && instrument.Name.StartsWith("relay.", StringComparison.Ordinal)
                => new MetricStreamConfiguration { CardinalityLimit = RelayCounterSeries },
            RuntimeMeter => new MetricStreamConfiguration { CardinalityLimit = RuntimeSeries },
            _ => null,
        };

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
