using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.Handler.Telemetry;
using Serverless.Relay.Telemetry;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Telemetry;

/// <summary>Issue 12: <c>GET /metrics</c> is a Prometheus scrape for the admin key or <c>RELAY_METRICS_KEY</c>, and nothing without exporters.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class MetricsEndpointTests(TelemetryRelay relay, AzuriteFixture azurite)
{
    [Theory]
    [InlineData(null, 401)]
    [InlineData("not-the-metrics-key", 401)]
    [InlineData(TelemetryRelay.MetricsKey, 200)]
    [InlineData(RelayHost.AdminKey, 200)]
    public async Task Scrape_ByKey_OnlyTheMetricsOrAdminKeyReadsTheRelaysMetrics(string? key, int status)
    {
        relay.StartClean();
        var model = TelemetryRelay.NewModel();
        using (var chat = await relay.ChatAsync(model))
        {
            Assert.Equal(200, (int)chat.StatusCode);
        }

        var answer = await ScrapeMeteredAsync(relay.Host, key, model);

        Assert.Equal(status, answer.Status);
        if (status == 200)
        {
            Assert.StartsWith("text/plain", answer.Response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
            Assert.Contains("# TYPE gen_ai_server_request_duration_seconds histogram", answer.Body, StringComparison.Ordinal);
            Assert.Contains("gen_ai_server_request_duration_seconds_bucket{", answer.Body, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("missing or invalid admin key: send it as 'Authorization: Bearer <key>' or 'x-api-key'", answer.ErrorMessage);
            Assert.DoesNotContain("gen_ai", answer.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Scrape_HttpAndRuntimeMetricsOnlyWhenAskedFor()
    {
        await using var host = await RelayHost.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["Telemetry:Prometheus"] = "true",
            ["Telemetry:HttpMetrics"] = "true",
            ["Telemetry:RuntimeMetrics"] = "true",
        });
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, "", ct: TestContext.Current.CancellationToken)).Status);
        relay.StartClean();
        var model = TelemetryRelay.NewModel();
        using (var chat = await relay.ChatAsync(model))
        {
            Assert.Equal(200, (int)chat.StatusCode);
        }

        var withHttp = await ScrapeAsync(host, RelayHost.AdminKey);
        var byDefault = await ScrapeMeteredAsync(relay.Host, TelemetryRelay.MetricsKey, model);

        Assert.Equal(200, withHttp.Status);
        Assert.Contains("http_server_request_duration_seconds_bucket{", withHttp.Body, StringComparison.Ordinal);
        // The relayed chat's upstream call, recorded by the handler chain (UpstreamHttp sends without HttpClient); the
        // System.Net.Http meter is the process's, so this host's scrape sees the other host's call too.
        Assert.Matches($@"(?m)^http_client_request_duration_seconds_bucket\{{[^}}]*server_port=""{relay.Upstream.Root.Port}""", withHttp.Body);
        Assert.Matches(@"(?m)^dotnet_process_memory_working_set_bytes(\{[^}]*\})? [1-9]", withHttp.Body);
        Assert.Contains("dotnet_gc_heap_total_allocated_bytes", withHttp.Body, StringComparison.Ordinal);
        Assert.Equal(200, byDefault.Status);
        Assert.Contains("gen_ai_server_request_duration_seconds", byDefault.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("http_server_request_duration", byDefault.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("http_client_request_duration", byDefault.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("dotnet_", byDefault.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_RelayCountersBoundedToTheirFewSeries_GenAiSeriesNot()
    {
        await using var host = await RelayHost.StartAsync(azurite, new Dictionary<string, string?> { ["Telemetry:Prometheus"] = "true" });
        var mark = Guid.NewGuid().ToString("N")[..8];
        var relayMetrics = host.Services.GetRequiredService<RelayMetrics>();
        var genAi = host.Services.GetRequiredService<GenAiTelemetry>();
        const int Series = TelemetryPipeline.RelayCounterSeries + 20;

        for (var i = 0; i < Series; i++)
        {
            relayMetrics.Shed($"{mark}-{i}");
            genAi.Complete(null, new GenAiRequest { Operation = "chat", Provider = "openai", RequestModel = $"{mark}-{i}", Duration = TimeSpan.FromMilliseconds(5) });
        }

        var scrape = await ScrapeAsync(host, RelayHost.AdminKey);

        Assert.Equal(200, scrape.Status);
        var lines = scrape.Body.Split('\n');
        var shed = lines.Where(line => line.StartsWith("relay_requests_shed_total{", StringComparison.Ordinal)).ToArray();
        Assert.Equal(TelemetryPipeline.RelayCounterSeries, shed.Count(line => line.Contains(mark, StringComparison.Ordinal)));
        var overflow = Assert.Single(shed, line => line.Contains("otel_metric_overflow=\"true\"", StringComparison.Ordinal));
        Assert.Equal($"{Series - TelemetryPipeline.RelayCounterSeries}", SampleValue(overflow));
        Assert.Equal(Series, lines.Count(line => line.StartsWith("gen_ai_server_request_duration_seconds_count{", StringComparison.Ordinal) && line.Contains(mark, StringComparison.Ordinal)));
    }

    [Fact]
    public void BoundedStreams_RuntimeAndOwnRelayCounters_FewSeries_OthersTheDefault()
    {
        using var ownMeters = new HostTaggedMeterFactory();
        using var otherHostsMeters = new HostTaggedMeterFactory();
        using var runtime = new Meter(TelemetryPipeline.RuntimeMeter);
        using var hosting = new Meter("Microsoft.AspNetCore.Hosting");
        var own = ownMeters.Create(new MeterOptions(RelayTelemetry.Name));
        var streams = TelemetryPipeline.BoundedStreams(ownMeters);

        Assert.Equal(TelemetryPipeline.RuntimeSeries, streams(runtime.CreateCounter<long>("test.bounded.runtime"))?.CardinalityLimit);
        Assert.Equal(TelemetryPipeline.RelayCounterSeries, streams(own.CreateCounter<long>("relay.test.bounded"))?.CardinalityLimit);
        Assert.Null(streams(own.CreateHistogram<double>("gen_ai.test.bounded"))); // grows with the models served
        Assert.Null(streams(otherHostsMeters.Create(new MeterOptions(RelayTelemetry.Name)).CreateCounter<long>("relay.test.bounded")));
        Assert.Null(streams(hosting.CreateHistogram<double>("test.bounded.request.duration")));
    }

    [Fact]
    public async Task Relay_NoExporterConfigured_NoPipelineAndMetricsAre404()
    {
        await using var host = await RelayHost.StartAsync(azurite);
        await host.CreateLoopbackAccountAsync(relay.Upstream, "openai", ["tm-*"]);
        var key = await host.CreateKeyAsync();

        Assert.Null(host.Services.GetService<TracerProvider>());
        Assert.Null(host.Services.GetService<MeterProvider>());
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"tm-plain","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) },
        };
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(response.Headers.Contains("x-request-id"));

        // NOTE: whether this relay answers x-trace-id cannot be told here: the relay's activity source is one per process,
        // and the other relay of these tests listens to it. Without any SDK in the process nothing does.

        var scrape = await ScrapeAsync(host, RelayHost.AdminKey);
        Assert.Equal(404, scrape.Status);
        Assert.Equal("Prometheus metrics are off: set RELAY_METRICS_KEY, or Telemetry__Prometheus=true to scrape with the admin key", scrape.ErrorMessage);
    }

    /// <summary>The value of a Prometheus sample line: <c>name{labels} value [timestamp]</c>.</summary>
    private static string SampleValue(string line) => line[(line.LastIndexOf('}') + 2)..].Split(' ')[0];

    private static Task<RelayAnswer> ScrapeAsync(RelayHost host, string? key) =>
        host.SendAsync(HttpMethod.Get, "metrics", key: key, ct: TestContext.Current.CancellationToken);

    /// <summary>
    /// A scrape once it holds the series of the chat of <paramref name="model"/>, or the first that is not a 200.
    /// NOTE: a request is metered when it ends, which may be just after its client has read the whole answer
    /// (<see cref="TelemetryRelay.PointsAsync"/>), so a scrape sent at once can miss it.
    /// </summary>
    private static Task<RelayAnswer> ScrapeMeteredAsync(RelayHost host, string? key, string model) =>
        Eventually.ValueAsync(
            $"a scrape holding the series of {model}",
            _ => ScrapeAsync(host, key),
            answer => answer.Status != 200 || answer.Body.Contains(model, StringComparison.Ordinal),
            answer => $"status {answer.Status}, {answer.Body.Length} characters");
}
