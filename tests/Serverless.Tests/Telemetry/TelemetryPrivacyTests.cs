using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OpenTelemetry;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Telemetry;

/// <summary>Issue 12: no prompt, answer, key or credential in any span, metric, OTLP export or Prometheus scrape.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryPrivacyTests
{
    private readonly TelemetryRelay _relay;

    public TelemetryPrivacyTests(TelemetryRelay relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    [Fact]
    public async Task Relay_DistinctivePromptAndKeys_NeverInSpansMetricsExportsOrScrape()
    {
        var ct = TestContext.Current.CancellationToken;
        var prompt = "zebra-quartz-" + Guid.NewGuid().ToString("N");
        var key = await _relay.Host.CreateKeyAsync(new { name = "private" });
        var model = TelemetryRelay.NewModel();

        // An OpenAI chat (bearer key), streamed and not, and a Gemini call with the key in the query string.
        using var answered = await _relay.ChatAsync(model, prompt, key: key, traceparent: TelemetryRelay.SampledTraceparent().Header);
        Assert.Equal(200, (int)answered.StatusCode);
        var answer = JsonDocument.Parse(await answered.Content.ReadAsStringAsync(ct)).RootElement
            .GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        var requestId = Assert.Single(answered.Headers.GetValues("x-request-id"));
        using var streamed = await _relay.ChatAsync(model, prompt, key: key, stream: true, traceparent: TelemetryRelay.SampledTraceparent().Header);
        Assert.Equal(200, (int)streamed.StatusCode);
        using (var client = _relay.CreateClient())
        using (SuppressInstrumentationScope.Begin())
        {
            var gemini = $$"""{"contents":[{"role":"user","parts":[{"text":"{{prompt}}"}]}]}""";
            using var request = new HttpRequestMessage(HttpMethod.Post, $"v1beta/models/tg-private:generateContent?key={key}")
            {
                Content = new StringContent(gemini, Encoding.UTF8, "application/json"),
                Headers = { { "traceparent", TelemetryRelay.SampledTraceparent().Header } },
            };
            using var inQuery = await client.SendAsync(request, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
            Assert.Equal(200, (int)inQuery.StatusCode);
        }

        var exported = await Eventually.ValueAsync(
            $"the OTLP sink has the span of {requestId} and the metrics of {model}",
            _ =>
            {
                _relay.Flush();
                return Task.FromResult(_relay.Sink.Exports);
            },
            exports => Has(exports, "/v1/traces", requestId) && Has(exports, "/v1/metrics", model),
            exports => $"{exports.Count} export(s)");
        using var scrape = new HttpRequestMessage(HttpMethod.Get, "metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", TelemetryRelay.MetricsKey) } };
        using var client2 = _relay.CreateClient();
        using var scraped = await client2.SendAsync(scrape, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        var scrapeText = await scraped.Content.ReadAsStringAsync(ct);
        Assert.Equal(200, (int)scraped.StatusCode);

        // What telemetry carries, as text: every span's name and tags, every metric's tags, the raw OTLP bodies, the scrape.
        var texts = new List<(string Where, string Text)>();
        foreach (var span in _relay.Spans.Snapshot())
        {
            texts.Add(($"span {span.DisplayName}", span.DisplayName));
            texts.AddRange(span.TagObjects.Select(tag => ($"span {span.DisplayName} tag {tag.Key}", Describe(tag.Value))));
            texts.AddRange(span.Events.Select(e => ($"span {span.DisplayName} event", e.Name)));
        }

        foreach (var metric in _relay.Metrics.Snapshot())
        {
            foreach (var point in metric.MetricPoints)
            {
                texts.AddRange(TelemetryRelay.TagsOf(point).Select(tag => ($"metric {metric.Name} tag {tag.Key}", Describe(tag.Value))));
            }
        }

        texts.AddRange(exported.Select(e => ($"OTLP export {e.Path}", Encoding.UTF8.GetString(e.Body))));
        texts.Add(("/metrics", scrapeText));

        // The telemetry is there (the check below would pass on nothing at all otherwise)…
        Assert.Contains(texts, t => t.Text.Contains(model, StringComparison.Ordinal) && t.Where.StartsWith("OTLP", StringComparison.Ordinal));
        Assert.Contains("gen_ai_client_token_usage", scrapeText, StringComparison.Ordinal);

        // …and none of the request's content or credentials.
        var secrets = new Dictionary<string, string>
        {
            ["prompt"] = prompt,
            ["answer"] = answer,
            ["relay key"] = key,
            ["upstream key"] = _relay.Upstream.ApiKey,
            ["admin key"] = RelayHost.AdminKey,
            ["metrics key"] = TelemetryRelay.MetricsKey,
        };
        foreach (var (what, secret) in secrets)
        {
            var leaks = texts.Where(t => t.Text.Contains(secret, StringComparison.Ordinal)).Select(t => t.Where).Distinct().ToArray();
            Assert.True(leaks.Length == 0, $"the {what} appears in: {string.Join(", ", leaks)}");
        }
    }

    private static bool Has(IReadOnlyList<(string Path, byte[] Body)> exports, string path, string text) =>
        exports.Any(e => e.Path == path && Encoding.UTF8.GetString(e.Body).Contains(text, StringComparison.Ordinal));

    private static string Describe(object? value) => value switch
    {
        null => "",
        string text => text,
        IEnumerable<string> items => string.Join(",", items),
        _ => value.ToString() ?? "",
    };
}
