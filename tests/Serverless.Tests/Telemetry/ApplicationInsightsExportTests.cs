using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Telemetry;

/// <summary>
/// The relay as deployed: <c>infra/bicep</c> sets only <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>, and a relayed
/// request's trace must reach Application Insights' ingestion (here a loopback <see cref="TelemetrySink"/>) under the
/// connection string's key, without the request's prompt or any key.
/// </summary>
/// <remarks>
/// NOTE: in the telemetry tests' collection, and with no budget for new traces: an SDK listens to every relay of the
/// process, so this relay's would otherwise sample and tag other telemetry tests' requests while it runs
/// (<see cref="TelemetryRelay"/> says more); its own request is recorded because it carries a sampled traceparent.
/// </remarks>
[Collection(TelemetryCollection.Name)]
public sealed class ApplicationInsightsExportTests(AzuriteFixture azurite)
{
    private const string InstrumentationKey = "6f1c2b7e-0d4a-4c55-9a51-3e8f0c2d7b19";

    [Fact]
    public async Task Chat_AsDeployed_TraceReachesIngestionUnderTheConnectionStringsKey_WithoutPromptOrKeys()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upstream = await LoopbackUpstream.StartAsync(ct);
        await using var sink = await TelemetrySink.StartAsync();
        await using var host = await RelayHost.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = $"InstrumentationKey={InstrumentationKey};IngestionEndpoint={sink.Root}",
            ["Telemetry:TracesPerSecond"] = "0",
        });
        await host.CreateLoopbackAccountAsync(upstream, "openai", ["ai-*"]);
        var key = await host.CreateKeyAsync(new { name = "as deployed" });
        var model = "ai-" + Guid.NewGuid().ToString("N")[..10];
        var prompt = "heron-basalt-" + Guid.NewGuid().ToString("N");
        var (traceparent, traceId) = TelemetryRelay.SampledTraceparent();

        using (var answered = await TelemetryRelay.ChatAsync(host, key, model, prompt, traceparent))
        {
            Assert.Equal(200, (int)answered.StatusCode);
        }

        var trace = traceId.ToHexString();
        var tracked = await Eventually.ValueAsync(
            $"ingestion has the spans of trace {trace}",
            _ =>
            {
                host.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000);
                return Task.FromResult(sink.Exports.Where(e => e.Path == "/v2.1/track").Select(e => Encoding.UTF8.GetString(e.Body)).ToArray());
            },
            bodies => bodies.Any(body => body.Contains(trace, StringComparison.Ordinal) && body.Contains(model, StringComparison.Ordinal)),
            bodies => $"{bodies.Length} track call(s)");

        var ours = string.Join('\n', tracked.SelectMany(body => body.Split('\n')).Where(item => item.Contains(trace, StringComparison.Ordinal)));
        Assert.Contains(InstrumentationKey, ours, StringComparison.Ordinal);
        Assert.Contains("\"RequestData\"", ours, StringComparison.Ordinal); // the server span, not only the relay's own
        foreach (var (what, secret) in new[] { ("prompt", prompt), ("relay key", key), ("upstream key", upstream.ApiKey), ("admin key", RelayHost.AdminKey) })
        {
            Assert.False(tracked.Any(body => body.Contains(secret, StringComparison.Ordinal)), $"the {what} was exported to ingestion");
        }
    }
}
