using System.Net.Http.Json;
using System.Text.Json;

namespace Serverless.Bench;

/// <summary>
/// Creates, through the admin API, the upstream account pointing at the mock and two client keys; prints the key with
/// no limits, then on a second line the key with limits (for the <c>relay-limited</c> target).
/// </summary>
internal static class RelaySetup
{
    private static readonly string[] Models = ["bench-*"];

    // Far above what a run can reach, so the limited key is never refused, but every request still goes through the
    // limiter: request and token windows, the cost budget (bench models are unpriced, so it stays at 0) and the
    // concurrency lease. NOTE: the concurrency limit must be far above the matrix's largest concurrency (1,000), not
    // just above it: at 1,024 the c=1,000 cells ran the key at 98 % of its limit, where each instance's lease holds
    // only a slice of the few slots left and syncs with storage several times a second (bench/ANALYSIS.md, "The
    // limited key at c=1,000").
    private static readonly object Limits = new
    {
        rpm = 1_000_000_000,
        rpd = 1_000_000_000,
        tpm = 1_000_000_000_000,
        totalCostUsd = 1_000_000,
        maxConcurrency = 100_000,
    };

    public static async Task<int> RunAsync(CommandLine options)
    {
        using var http = new HttpClient { BaseAddress = new Uri(options.Required("relay")), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", options.Required("admin-key"));

        using var account = await http.PostAsJsonAsync("/api/admin/accounts", new
        {
            name = "bench mock upstream",
            provider = "openai-compatible",
            baseUrl = options.Required("upstream").TrimEnd('/') + "/v1",
            apiKey = "sk-bench-upstream",
            models = Models,
            priority = 10,
        });
        if (!account.IsSuccessStatusCode)
        {
            await Console.Error.WriteLineAsync($"account: {(int)account.StatusCode} {await account.Content.ReadAsStringAsync()}");
            return 1;
        }

        var plain = await CreateKeyAsync(http, new { name = "bench", owner = "bench" });
        var limited = await CreateKeyAsync(http, new { name = "bench-limited", owner = "bench", limits = Limits });
        if (plain is null || limited is null)
        {
            return 1;
        }

        Console.WriteLine(plain);
        Console.WriteLine(limited);
        return 0;
    }

    private static async Task<string?> CreateKeyAsync(HttpClient http, object body)
    {
        using var key = await http.PostAsJsonAsync("/api/admin/keys", body);
        var text = await key.Content.ReadAsStringAsync();
        if (!key.IsSuccessStatusCode)
        {
            await Console.Error.WriteLineAsync($"key: {(int)key.StatusCode} {text}");
            return null;
        }

        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty("key").GetString();
    }
}
