using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Serverless.Handler.Hosting;
using Serverless.Handler.Telemetry;
using Serverless.Relay.Telemetry;
using Xunit;

namespace Serverless.Tests.Telemetry;

/// <summary>
/// Issue 12, "must not cost the hot path": by default the relay traces at most <c>Telemetry__TracesPerSecond</c> new
/// traces a second (the fixture's relay: none), follows a client's sampling decision, and meters every request anyway.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TraceSamplingTests
{
    private readonly TelemetryRelay _relay;

    public TraceSamplingTests(TelemetryRelay relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    [Fact]
    public async Task Chat_NewTraceBeyondTheBudget_NoSpanNoTraceIdButMetered()
    {
        var model = TelemetryRelay.NewModel();

        using var response = await _relay.ChatAsync(model);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.False(response.Headers.Contains("x-trace-id"));
        var requestId = Assert.Single(response.Headers.GetValues("x-request-id"));
        var duration = Assert.Single(await _relay.PointsAsync("gen_ai.server.request.duration", points => points.Length > 0, ("gen_ai.request.model", model)));
        Assert.Equal(1, duration.GetHistogramCount());
        Assert.DoesNotContain(_relay.Spans.Snapshot(), span => Equals(span.GetTagItem("relay.request_id"), requestId));
    }

    [Fact]
    public async Task Chat_ClientSampledTheTrace_RecordedWhateverTheBudget()
    {
        var (traceparent, traceId) = TelemetryRelay.SampledTraceparent();

        using var response = await _relay.ChatAsync(TelemetryRelay.NewModel(), traceparent: traceparent);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(traceId.ToHexString(), Assert.Single(response.Headers.GetValues("x-trace-id")));
        Assert.Single(await _relay.SpansOfAsync(traceId, RelayTelemetry.Name));
    }

    [Fact]
    public async Task Chat_ClientDidNotSampleTheTrace_NotRecordedButTheTraceGoesOnUpstream()
    {
        var traceId = ActivityTraceId.CreateRandom();

        using var response = await _relay.ChatAsync(TelemetryRelay.NewModel(), traceparent: $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-00");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.False(response.Headers.Contains("x-trace-id"));
        Assert.Contains(traceId.ToHexString(), _relay.Upstream.LastRequest.Headers["traceparent"], StringComparison.Ordinal);
        Assert.DoesNotContain(_relay.Spans.Snapshot(), span => span.TraceId == traceId);
    }

    [Theory]
    [InlineData(null, "0", false)]
    [InlineData("always_on", "0", true)]
    [InlineData("always_off", "1000", false)]
    public async Task Pipeline_SamplerSetting_OperatorsOtelSamplerWinsOverTheBudget(string? otelSampler, string tracesPerSecond, bool recorded)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9",
            ["OTEL_TRACES_SAMPLER"] = otelSampler,
            ["Telemetry:TracesPerSecond"] = tracesPerSecond,
        });
        builder.AddTelemetryPipeline();

        // NOTE: a source only this pipeline listens to: the relay's own is heard by every pipeline in the test process,
        // and any of them sampling a root would record it.
        using var source = new ActivitySource("sampling-probe-" + Guid.NewGuid().ToString("N"));
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(source.Name));
        await using var app = builder.Build();
        Assert.NotNull(app.Services.GetService<TracerProvider>());

        using var probe = source.StartActivity("chat probe", ActivityKind.Client, parentContext: default);

        Assert.Equal(recorded, probe?.Recorded ?? false);
    }

    [Fact]
    public void Exporters_NegativeTracesPerSecond_RefusedNamingTheSetting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Telemetry:TracesPerSecond"] = "-1" }).Build();

        // The handler's own settings error: Program prints its message and exits, no stack trace.
        var error = Assert.Throws<HandlerSettingsException>(() => TelemetryExporters.From(configuration));

        Assert.Contains("Telemetry__TracesPerSecond", error.Message, StringComparison.Ordinal);
    }
}
