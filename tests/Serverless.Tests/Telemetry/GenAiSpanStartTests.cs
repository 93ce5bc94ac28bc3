using System.Diagnostics;
using Serverless.Relay.Telemetry;
using Xunit;

namespace Serverless.Tests.Telemetry;

/// <summary>
/// Issue 12, "must not cost the hot path": the relay's span is not even created under a request activity the sampler
/// dropped (a parent-based sampler would drop it anyway), and is under one it records.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class GenAiSpanStartTests
{
    [Theory]
    [InlineData(ActivitySamplingResult.PropagationData, false)]
    [InlineData(ActivitySamplingResult.AllData, true)]
    [InlineData(ActivitySamplingResult.AllDataAndRecorded, true)]
    public void StartRequest_UnderTheRequestActivity_SpanOnlyWhenThatActivityIsRecorded(ActivitySamplingResult requestSampling, bool spanExpected)
    {
        using var requestSource = new ActivitySource("Serverless.Tests.RequestActivity." + Guid.NewGuid().ToString("N"));
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source == requestSource || source.Name == RelayTelemetry.Name,
            // The relay's span is sampled as the parent was, as a parent-based sampler does.
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                options.Source == requestSource ? requestSampling
                : options.Parent.TraceFlags.HasFlag(ActivityTraceFlags.Recorded) ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);
        var previous = Activity.Current;
        try
        {
            using var request = requestSource.StartActivity("POST", ActivityKind.Server);
            Assert.NotNull(request);

            using var span = GenAiTelemetry.StartRequest("chat", "gpt-test", "req-1");

            Assert.Equal(spanExpected, span is not null);
            if (span is not null)
            {
                Assert.Equal(request.TraceId, span.TraceId);
                Assert.Equal(request.SpanId, span.ParentSpanId);
            }
        }
        finally
        {
            Activity.Current = previous;
        }
    }
}
