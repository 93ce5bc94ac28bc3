using System.Diagnostics;
using System.Text.Json;

namespace Serverless.Bench;

/// <summary>
/// The saturation case (issue 11): a relay started with <c>Relay__MaxConcurrentRequests</c> = <c>--bound</c> is held
/// at its bound by that many paced streams, then sent <c>--extra</c> more requests. Each should be refused at once
/// with 503 and <c>Retry-After</c>, while the held streams finish whole and the account stays available; afterwards
/// a request is answered again. Prints one JSON line.
/// </summary>
internal static class Saturation
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var relay = options.Required("relay").TrimEnd('/');
        var key = options.Required("key");
        var adminKey = options.Required("admin-key");
        var bound = options.Int("bound", 64);
        var extra = options.Int("extra", 1000);
        var concurrency = options.Int("concurrency", 16);
        var model = options.Optional("model") ?? "bench-paced-200";
        var url = relay + "/v1/chat/completions";
        var auth = new[] { KeyValuePair.Create("Authorization", "Bearer " + key) };

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = bound + concurrency + 1 })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };

        // 1. Hold the bound: each stream counts as admitted once its first event arrived.
        var admitted = new CountdownEvent(bound);
        var held = Enumerable.Range(0, bound).Select(_ => HoldStreamAsync(http, url, auth, model, admitted)).ToArray();
        if (!admitted.Wait(TimeSpan.FromSeconds(30)))
        {
            Console.WriteLine(JsonSerializer.Serialize(new { error = $"only {bound - admitted.CurrentCount} of {bound} streams were admitted within 30 s" }));
            return 1;
        }

        // 2. The extra requests, while every place is taken.
        var body = RequestBodies.Build(RequestBodies.Model, stream: false);
        var statuses = new Dictionary<int, int>();
        var withRetryAfter = 0;
        var latencies = new List<double>(extra);
        var next = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= extra)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(Requests.Post(url, auth, body));
                await response.Content.ReadAsByteArrayAsync();
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                lock (statuses)
                {
                    statuses[(int)response.StatusCode] = statuses.GetValueOrDefault((int)response.StatusCode) + 1;
                    withRetryAfter += response.Headers.RetryAfter is null ? 0 : 1;
                    latencies.Add(ms);
                }
            }
        }));
        var extraSeconds = clock.Elapsed.TotalSeconds;

        // 3. The held streams end as the upstream paces them; then a place is free again.
        var streams = await Task.WhenAll(held);
        using var after = await http.SendAsync(Requests.Post(url, auth, body));
        var health = await AccountHealthAsync(relay, adminKey);

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            bound,
            model,
            held = bound,
            held_completed = streams.Count(s => s),
            extra,
            extra_concurrency = concurrency,
            extra_rps = extra / extraSeconds,
            statuses = statuses.ToDictionary(s => s.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), s => s.Value),
            retry_after = withRetryAfter,
            shed_p50_ms = Stats.Percentile(latencies, 50),
            shed_p99_ms = Stats.Percentile(latencies, 99),
            shed_max_ms = latencies.Count > 0 ? latencies.Max() : 0,
            after_status = (int)after.StatusCode,
            account_health = health,
        }));
        return 0;
    }

    /// <summary>One streamed request read to its end; true when it answered 200 and ended with <c>[DONE]</c>.</summary>
    private static async Task<bool> HoldStreamAsync(HttpClient http, string url, KeyValuePair<string, string>[] auth, string model, CountdownEvent admitted)
    {
        var signalled = false;
        try
        {
            using var response = await http.SendAsync(Requests.Post(url, auth, RequestBodies.Build(model, stream: true)), HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            await using var stream = await response.Content.ReadAsStreamAsync();
            var splitter = new SseSplitter();
            var buffer = new byte[16 * 1024];
            var done = false;
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                var events = splitter.Add(buffer.AsSpan(0, read));
                if (!signalled && events.Count > 0)
                {
                    signalled = true;
                    admitted.Signal();
                }

                done |= events.Contains(SseKind.Done);
            }

            return done;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>The status of the relay's accounts on that instance (<c>available</c>, <c>cooling-down</c>…), joined.</summary>
    private static async Task<string> AccountHealthAsync(string relay, string adminKey)
    {
        using var admin = new AdminApi(relay, adminKey);
        try
        {
            return string.Join(",", (await admin.ListAccountsAsync()).Select(a => a.Health));
        }
        catch (HttpRequestException e)
        {
            return e.Message;
        }
    }
}
