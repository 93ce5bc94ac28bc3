using System.Diagnostics;
using System.Text.Json;

namespace Serverless.Bench;

/// <summary>
/// Streamed chat completions, timed event by event: time to first content event, the gaps between content events,
/// events per stream (merging or loss shows as a wrong count), and events that arrived in the same socket read as the
/// one before (a gateway that buffers merges them; against a paced upstream, each should arrive alone).
/// </summary>
internal static class StreamClient
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var url = options.Required("url");
        var headers = options.Headers();
        var requests = options.Int("requests", 100);
        var concurrency = options.Int("concurrency", 1);
        var warmup = options.Int("warmup", 5);
        var model = options.Optional("model") ?? RequestBodies.Model;
        var body = RequestBodies.Build(model, stream: true);
        var mergeLog = options.Optional("merge-log");

        var onWire = options.Flag("wire");
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, UseProxy = false };
        if (onWire)
        {
            handler.ConnectCallback = WireCapture.ConnectFromClientAddressAsync;
        }

        using var http = new HttpClient(handler)
        {
            Timeout = TimeSpan.FromSeconds(60),
        };

        for (var i = 0; i < warmup; i++)
        {
            await TimeOneAsync(http, url, headers, body);
        }

        // The capture, if asked for, starts after the warm-up, so it sees the measured streams only.
        var (wire, wireError) = onWire ? await WireCapture.StartAsync(new Uri(url).Port, model) : (null, null);
        var results = new List<StreamTiming>(requests);
        var next = 0;
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= requests)
            {
                var timing = await TimeOneAsync(http, url, headers, body);
                lock (results)
                {
                    results.Add(timing);
                }
            }
        });
        await Task.WhenAll(workers);
        WireCount? wireCount = wire is null ? null : await wire.StopAsync();

        var ok = results.Where(r => r.Error is null).ToList();
        var ttfe = ok.Select(r => r.FirstEventMs).ToList();
        var gaps = ok.SelectMany(r => r.GapsMs).ToList();
        var summary = new
        {
            target = options.Optional("target") ?? "",
            label = options.Optional("label") ?? "",
            model,
            concurrency,
            requests = results.Count,
            errors = results.Count - ok.Count,
            first_error = results.FirstOrDefault(r => r.Error is not null)?.Error,
            ttfe_p50 = Stats.Percentile(ttfe, 50),
            ttfe_p90 = Stats.Percentile(ttfe, 90),
            ttfe_p99 = Stats.Percentile(ttfe, 99),
            gap_p50 = Stats.Percentile(gaps, 50),
            gap_p99 = Stats.Percentile(gaps, 99),
            gap_max = gaps.Count > 0 ? gaps.Max() : 0,
            total_p50 = Stats.Percentile(ok.Select(r => r.TotalMs).ToList(), 50),
            events_min = ok.Count > 0 ? ok.Min(r => r.ContentEvents) : 0,
            events_max = ok.Count > 0 ? ok.Max(r => r.ContentEvents) : 0,
            merged = ok.Sum(r => r.Merged),
            usage_chunks = ok.Count(r => r.Usage),
            done = ok.Count(r => r.Done),
            wire_segments = wireCount?.Segments,
            wire_events = wireCount?.Events,
            wire_merged = wireCount is { Error: null } ? wireCount.Value.Merged : (long?)null,
            wire_retransmitted = wireCount?.Retransmitted,
            wire_gap_max = wireCount is { Error: null } ? wireCount.Value.GapMaxMs : (double?)null,
            wire_error = wireCount?.Error ?? wireError,
        };
        Console.WriteLine(JsonSerializer.Serialize(summary));
        if (mergeLog is not null)
        {
            // One line per merged event: when its read returned (CLOCK_MONOTONIC, ns, the clock perf and the kernel's
            // traces can use too) and its index in the stream, so merges can be matched against pauses elsewhere.
            await File.WriteAllLinesAsync(mergeLog, ok.SelectMany(r => r.MergedAt).Order().Select(m => $"{m.Timestamp} {m.Event}"));
        }

        return 0;
    }

    private static async Task<StreamTiming> TimeOneAsync(HttpClient http, string url, IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body)
    {
        var timing = new StreamTiming();
        var clock = Stopwatch.StartNew();
        try
        {
            using var request = Requests.Post(url, headers, body);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
            {
                timing.Error = $"status {(int)response.StatusCode}";
                return timing;
            }

            await using var stream = await response.Content.ReadAsStreamAsync();
            var splitter = new SseSplitter();
            var buffer = new byte[16 * 1024];
            double? last = null;
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                var at = clock.Elapsed.TotalMilliseconds;
                var readAt = Stopwatch.GetTimestamp();
                var inThisRead = 0;
                foreach (var kind in splitter.Add(buffer.AsSpan(0, read)))
                {
                    switch (kind)
                    {
                        case SseKind.Content:
                            timing.ContentEvents++;
                            if (last is null)
                            {
                                timing.FirstEventMs = at;
                            }
                            else
                            {
                                timing.GapsMs.Add(at - last.Value);
                            }

                            if (inThisRead++ > 0)
                            {
                                timing.Merged++;
                                timing.MergedAt.Add((readAt, timing.ContentEvents));
                            }

                            last = at;
                            break;
                        case SseKind.Usage:
                            timing.Usage = true;
                            break;
                        case SseKind.Done:
                            timing.Done = true;
                            break;
                        case SseKind.Other:
                            break;
                    }
                }
            }

            timing.TotalMs = clock.Elapsed.TotalMilliseconds;
            if (timing.ContentEvents != MockUpstream.StreamEvents || !timing.Done)
            {
                timing.Error = $"{timing.ContentEvents} content events, [DONE] {timing.Done}";
            }
        }
        catch (HttpRequestException e)
        {
            timing.Error = e.Message;
        }
        catch (TaskCanceledException e)
        {
            timing.Error = e.Message;
        }

        return timing;
    }

    private sealed class StreamTiming
    {
        public double FirstEventMs { get; set; }
        public double TotalMs { get; set; }
        public List<double> GapsMs { get; } = [];
        public List<(long Timestamp, int Event)> MergedAt { get; } = [];
        public int ContentEvents { get; set; }
        public int Merged { get; set; }
        public bool Usage { get; set; }
        public bool Done { get; set; }
        public string? Error { get; set; }
    }
}

internal static class Stats
{
    /// <summary>Nearest-rank percentile; 0 for an empty list.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Median(IEnumerable<double> values) => Percentile(values.ToList(), 50);
}
