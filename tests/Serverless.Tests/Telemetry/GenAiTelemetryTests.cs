using System.Diagnostics;
using OpenTelemetry.Metrics;
using Serverless.Relay.Telemetry;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Telemetry;

/// <summary>Issue 12: a span and the GenAI conventions' metrics per relayed request, in the client's trace.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class GenAiTelemetryTests
{
    private readonly TelemetryRelay _relay;

    public GenAiTelemetryTests(TelemetryRelay relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    [Fact]
    public async Task Chat_WithTraceparent_SpanFollowsConventionsUnderAspNetCoresSpanInTheClientsTrace()
    {
        var model = TelemetryRelay.NewModel();
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpan = ActivitySpanId.CreateRandom();

        using var response = await _relay.ChatAsync(model, traceparent: $"00-{traceId.ToHexString()}-{clientSpan.ToHexString()}-01");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(traceId.ToHexString(), Assert.Single(response.Headers.GetValues("x-trace-id")));
        var requestId = Assert.Single(response.Headers.GetValues("x-request-id"));
        var span = Assert.Single(await _relay.SpansOfAsync(traceId, RelayTelemetry.Name));
        Assert.Equal($"chat {model}", span.DisplayName);
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
        Assert.Equal("chat", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("openai", span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal(model, span.GetTagItem("gen_ai.request.model"));
        Assert.Equal(model, span.GetTagItem("gen_ai.response.model"));
        Assert.Equal((long)CanonicalUsage.PromptTotal, span.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal((long)CanonicalUsage.Output, span.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(["stop"], (string[])span.GetTagItem("gen_ai.response.finish_reasons")!);
        Assert.Equal(requestId, span.GetTagItem("relay.request_id"));
        Assert.Null(span.GetTagItem("error.type"));

        // The parent is ASP.NET Core's own request span, itself the child of the client's span.
        // (The loopback upstream runs in this process: its own server span is in the trace too, under the relay's call.)
        var server = Assert.Single(await _relay.SpansOfAsync(traceId, "Microsoft.AspNetCore", 2), s => s.SpanId == span.ParentSpanId);
        Assert.Equal(ActivityKind.Server, server.Kind);
        Assert.Equal(clientSpan, server.ParentSpanId);
        var upstreamCall = Assert.Single(UpstreamCalls(await _relay.SpansOfAsync(traceId, "System.Net.Http")));
        Assert.Equal(span.SpanId, upstreamCall.ParentSpanId);

        // The HTTP semantic-convention tags come from the framework's own activities (no instrumentation library).
        Assert.Equal("POST", server.GetTagItem("http.request.method"));
        Assert.Equal("/v1/chat/completions", server.GetTagItem("url.path"));
        Assert.Equal(200, Convert.ToInt32(server.GetTagItem("http.response.status_code"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("POST", upstreamCall.GetTagItem("http.request.method"));
        Assert.Equal(200, Convert.ToInt32(upstreamCall.GetTagItem("http.response.status_code"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Chat_Answered_TokenUsageDurationAndTimeToFirstTokenWithTheConventionsBuckets()
    {
        var model = TelemetryRelay.NewModel();

        using var response = await _relay.ChatAsync(model);
        Assert.Equal(200, (int)response.StatusCode);
        using var stream = await _relay.ChatAsync(model, stream: true);
        Assert.Equal(200, (int)stream.StatusCode);
        await _relay.PointsAsync("gen_ai.server.request.duration", Two, ("gen_ai.request.model", model));

        var input = Assert.Single(_relay.Points("gen_ai.client.token.usage", ("gen_ai.request.model", model), ("gen_ai.token.type", "input")));
        var output = Assert.Single(_relay.Points("gen_ai.client.token.usage", ("gen_ai.request.model", model), ("gen_ai.token.type", "output")));
        Assert.Equal(2, input.GetHistogramCount());
        Assert.Equal(2.0 * CanonicalUsage.PromptTotal, input.GetHistogramSum());
        Assert.Equal(2.0 * CanonicalUsage.Output, output.GetHistogramSum());
        Assert.Equal(GenAiConventions.TokenUsageBuckets.Select(b => (double)b), Bounds(input));
        Assert.Contains(TelemetryRelay.TagsOf(input), t => t.Key == "gen_ai.provider.name" && Equals(t.Value, "openai"));
        Assert.Contains(TelemetryRelay.TagsOf(input), t => t.Key == "gen_ai.operation.name" && Equals(t.Value, "chat"));

        var duration = Assert.Single(_relay.Points("gen_ai.server.request.duration", ("gen_ai.request.model", model)));
        Assert.Equal(2, duration.GetHistogramCount());
        Assert.Equal(GenAiConventions.RequestDurationBuckets, Bounds(duration));
        var firstToken = Assert.Single(_relay.Points("gen_ai.server.time_to_first_token", ("gen_ai.request.model", model)));
        Assert.Equal(2, firstToken.GetHistogramCount());
        Assert.Equal(GenAiConventions.TimeToFirstTokenBuckets, Bounds(firstToken));
        Assert.True(firstToken.GetHistogramSum() <= duration.GetHistogramSum());
    }

    [Fact]
    public async Task Chat_UpstreamFailsOnEveryAccount_SpanAndDurationCarryErrorTypeAndFailoverIsCounted()
    {
        var model = TelemetryRelay.NewModel();
        var (traceparent, traceId) = TelemetryRelay.SampledTraceparent();
        var failoversBefore = Count("relay.failovers", ("relay.failover.reason", "server-error"));
        _relay.Upstream.Script = new UpstreamScript { FailStatus = 500 };

        using var response = await _relay.ChatAsync(model, traceparent: traceparent);

        Assert.Equal(500, (int)response.StatusCode);
        var span = Assert.Single(await _relay.SpansOfAsync(traceId, RelayTelemetry.Name));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("500", span.GetTagItem("error.type"));
        Assert.Equal(2, UpstreamCalls(await _relay.SpansOfAsync(traceId, "System.Net.Http", 2)).Length);
        var failed = Assert.Single(await _relay.PointsAsync("gen_ai.server.request.duration", One, ("gen_ai.request.model", model), ("error.type", "500")));
        Assert.Equal(1, failed.GetHistogramCount());
        Assert.Empty(_relay.Points("gen_ai.server.time_to_first_token", ("gen_ai.request.model", model)));
        Assert.True(Count("relay.failovers", ("relay.failover.reason", "server-error")) >= failoversBefore + 1);
    }

    [Fact]
    public async Task Chat_RefusedByRpm_CountedByTheLimitThatRefused()
    {
        var key = await _relay.Host.CreateKeyAsync(new { name = "limited", limits = new { rpm = 1 } });
        _relay.Flush();
        var before = Count("relay.limit.refusals", ("relay.limit", "rpm"));

        using var first = await _relay.ChatAsync(TelemetryRelay.NewModel(), key: key);
        using var second = await _relay.ChatAsync(TelemetryRelay.NewModel(), key: key);

        Assert.Equal(200, (int)first.StatusCode);
        Assert.Equal(429, (int)second.StatusCode);
        await _relay.PointsAsync("relay.limit.refusals", points => points.Sum(p => p.GetSumLong()) >= before + 1, ("relay.limit", "rpm"));
        Assert.Single(await _relay.PointsAsync("gen_ai.server.request.duration", One, ("gen_ai.request.model", "_OTHER"), ("error.type", "rate_limited")));
    }

    /// <summary>The relay's calls to the upstream, among its storage calls.</summary>
    private Activity[] UpstreamCalls(Activity[] httpSpans) =>
        httpSpans.Where(a => (a.GetTagItem("url.full") as string ?? "").StartsWith(_relay.Upstream.Root.ToString(), StringComparison.Ordinal)).ToArray();

    private static bool One(MetricPoint[] points) => points.Length == 1 && points[0].GetHistogramCount() >= 1;

    private static bool Two(MetricPoint[] points) => points.Length == 1 && points[0].GetHistogramCount() == 2;

    private long Count(string metric, params (string Key, string Value)[] tags) =>
        _relay.Points(metric, tags).Sum(point => point.GetSumLong());

    private static double[] Bounds(MetricPoint point)
    {
        var bounds = new List<double>();
        foreach (var bucket in point.GetHistogramBuckets())
        {
            if (!double.IsPositiveInfinity(bucket.ExplicitBound))
            {
                bounds.Add(bucket.ExplicitBound);
            }
        }

        return [.. bounds];
    }
}
