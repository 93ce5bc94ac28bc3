using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.Relay.Accounts;
using Serverless.Relay.Telemetry;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Telemetry;

/// <summary>
/// A relay with its OpenTelemetry pipeline on, as an operator turns it on: OTLP (over HTTP, to a loopback
/// <see cref="TelemetrySink"/>) and the Prometheus scrape (<c>RELAY_METRICS_KEY</c>), with the default sampler at a budget
/// of no new traces (<see cref="SampledTraceparent"/> starts one). The tests add in-memory exporters
/// beside them to read what the pipeline sees. Two accounts of OpenAI serve <c>tm-*</c> (so each test can use a model
/// name of its own and read its own metric series), one of Gemini serves <c>tg-*</c>; all on one loopback upstream.
/// </summary>
/// <remarks>
/// NOTE: an SDK listens to every activity source and meter of its name in the process, so the exporters also see
/// what other tests' relays do; the tests pick their own spans by trace id and their own series by model name.
/// </remarks>
public sealed class TelemetryRelay(AzuriteFixture azurite) : IAsyncLifetime
{
    public const string MetricsKey = "test-metrics-key-4f1d9a";

    private readonly List<string> _accountIds = [];

    internal RelayHost Host { get; private set; } = null!;

    internal LoopbackUpstream Upstream { get; private set; } = null!;

    internal TelemetrySink Sink { get; private set; } = null!;

    internal ExportedItems<Activity> Spans { get; } = new();

    internal ExportedItems<MetricSnapshot> Metrics { get; } = new();

    /// <summary>A client key without limits.</summary>
    public string Key { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Upstream = await LoopbackUpstream.StartAsync(CancellationToken.None);
        Sink = await TelemetrySink.StartAsync();
        var meters = new HostTaggedMeterFactory();
        Host = await RelayHost.StartAsync(
            azurite,
            new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Sink.Root.ToString().TrimEnd('/'),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["RELAY_METRICS_KEY"] = MetricsKey,

                // The relay's default sampler with no budget for new traces: a test's span is recorded because its
                // request carries a sampled traceparent (TraceSamplingTests), never because another test's relay in
                // this process left budget over (the SDK samples every host's request activities).
                ["Telemetry:TracesPerSecond"] = "0",
            },
            services: services => services
                .AddSingleton<IMeterFactory>(meters)
                .ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(Spans))
                .ConfigureOpenTelemetryMeterProvider(metrics => metrics
                    .AddInMemoryExporter(Metrics)
                    // NOTE: the provider listens to every meter of the relay's name in the process: other tests' relays
                    // (failover tests among them) count the same series; only this relay's streams are kept.
                    .AddView(instrument => instrument.Meter.Name == RelayTelemetry.Name && !meters.Owns(instrument.Meter) ? MetricStreamConfiguration.Drop : null)));
        foreach (var name in new[] { "openai one", "openai two" })
        {
            _accountIds.Add(await Host.CreateLoopbackAccountAsync(Upstream, "openai", ["tm-*"], extra: new Dictionary<string, object?> { ["name"] = name }));
        }

        _accountIds.Add(await Host.CreateLoopbackAccountAsync(Upstream, "gemini", ["tg-*"]));
        Key = await Host.CreateKeyAsync(new { name = "telemetry" });
    }

    /// <summary>A <c>traceparent</c> of a new trace the client sampled, and its trace id.</summary>
    public static (string Header, ActivityTraceId TraceId) SampledTraceparent()
    {
        var traceId = ActivityTraceId.CreateRandom();
        return ($"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01", traceId);
    }

    /// <summary>A model name no other test uses, served by the OpenAI accounts.</summary>
    public static string NewModel() => "tm-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Every account available and the upstream well behaved, whatever an earlier test scripted.</summary>
    public void StartClean()
    {
        Upstream.Reset();
        var health = Host.Services.GetRequiredService<AccountHealth>();
        foreach (var id in _accountIds)
        {
            health.Reset(id);
        }
    }

    /// <summary>Exports what the pipeline holds now: batched spans and a collection of every metric.</summary>
    public void Flush()
    {
        Assert.True(Host.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000), "spans flushed");

        // NOTE: the result is false whatever happened: the Prometheus reader refuses a collection it did not ask for.
        // The push readers (in-memory, OTLP) collect and export all the same.
        Host.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
    }

    /// <summary>A non-streamed OpenAI chat with <paramref name="prompt"/>, sent with the client's key and an optional <c>traceparent</c>.</summary>
    public Task<HttpResponseMessage> ChatAsync(string model, string prompt = "Say hello.", string? traceparent = null, string? key = null, bool stream = false) =>
        ChatAsync(Host, key ?? Key, model, prompt, traceparent, stream);

    /// <summary>The same chat, to any relay of the test process (a test's own, configured otherwise).</summary>
    internal static async Task<HttpResponseMessage> ChatAsync(RelayHost host, string key, string model, string prompt = "Say hello.", string? traceparent = null, bool stream = false)
    {
        using var client = CreateClient(host);
        var body = $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{prompt}}"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (traceparent is not null)
        {
            request.Headers.Add("traceparent", traceparent);
        }

        // The test's own HttpClient would be traced by the SDK listening in this process, and send its own traceparent.
        using var untraced = SuppressInstrumentationScope.Begin();
        var response = await client.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await response.Content.LoadIntoBufferAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        return response;
    }

    /// <summary>
    /// A client of the relay that sends only the headers a test sets. NOTE: an HttpClient in a process where an SDK
    /// listens would add a <c>traceparent</c> of its own (a second value beside a test's).
    /// </summary>
    public HttpClient CreateClient() => CreateClient(Host);

    private static HttpClient CreateClient(RelayHost host) =>
        new(new SocketsHttpHandler { ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator() })
        {
            BaseAddress = host.BaseUri,
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>The relay's spans of one trace, once <paramref name="count"/> of them have ended.</summary>
    internal Task<Activity[]> SpansOfAsync(ActivityTraceId traceId, string source, int count = 1) =>
        Eventually.ValueAsync(
            $"{count} span(s) of {source} in trace {traceId}",
            _ => Task.FromResult(Spans.Snapshot().Where(a => a.TraceId == traceId && a.Source.Name == source).ToArray()),
            spans => spans.Length >= count,
            spans => $"{spans.Length} span(s)");

    /// <summary>
    /// Collects until <paramref name="until"/> holds for the points of <paramref name="metric"/> with <paramref name="tags"/>.
    /// NOTE: a request is metered when it ends, which may be just after its client has read the whole answer.
    /// </summary>
    internal Task<MetricPoint[]> PointsAsync(string metric, Func<MetricPoint[], bool> until, params (string Key, string Value)[] tags) =>
        Eventually.ValueAsync(
            $"points of {metric} with {string.Join(", ", tags)}",
            _ =>
            {
                Flush();
                return Task.FromResult(Points(metric, tags));
            },
            until,
            points => $"{points.Length} point(s)");

    /// <summary>The latest collected points of <paramref name="metric"/> whose tags include every pair of <paramref name="tags"/>.</summary>
    /// <remarks>
    /// NOTE: each relay in the process has a meter of the same name, and the SDK keeps a stream per meter: a series is
    /// found in whichever stream holds it, its latest snapshot being its cumulative value.
    /// </remarks>
    internal MetricPoint[] Points(string metric, params (string Key, string Value)[] tags)
    {
        var latest = new Dictionary<string, MetricPoint>(StringComparer.Ordinal);
        foreach (var snapshot in Metrics.Snapshot().Where(m => m.Name == metric))
        {
            foreach (var point in snapshot.MetricPoints)
            {
                latest[string.Join(",", TagsOf(point).Select(t => $"{t.Key}={t.Value}"))] = point;
            }
        }

        return latest.Values.Where(point => tags.All(tag => TagsOf(point).Any(t => t.Key == tag.Key && Equals(t.Value?.ToString(), tag.Value)))).ToArray();
    }

    internal static List<KeyValuePair<string, object?>> TagsOf(MetricPoint point)
    {
        var tags = new List<KeyValuePair<string, object?>>();
        foreach (var tag in point.Tags)
        {
            tags.Add(tag);
        }

        return tags;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Sink.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class TelemetryCollection : ICollectionFixture<TelemetryRelay>
{
    public const string Name = "relay with telemetry exporters";
}

/// <summary>
/// Meters tagged with a host id of their own. NOTE: the SDK keys a metric stream by the meter's name, version and
/// tags; without the tag, another relay of the same test process stopping (its meter disposed) ends the stream this
/// relay shares with it, and this relay's measurements stop being collected.
/// </summary>
internal sealed class HostTaggedMeterFactory : IMeterFactory
{
    private readonly string _host = Guid.NewGuid().ToString("N");
    private readonly List<Meter> _meters = [];

    /// <summary>True for a meter this factory made (tagged with its host id).</summary>
    public bool Owns(Meter meter) => meter.Tags?.Any(t => t.Key == "test.host" && Equals(t.Value, _host)) == true;

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(new MeterOptions(options.Name)
        {
            Version = options.Version,
            Tags = [.. options.Tags ?? [], new KeyValuePair<string, object?>("test.host", _host)],
            Scope = this,
        });
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
        }
    }
}
