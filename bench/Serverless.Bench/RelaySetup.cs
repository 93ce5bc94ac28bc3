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
        using var admin = new AdminApi(options.Required("relay"), options.Required("admin-key"));
        var created = await admin.CreateAccountAsync(new
        {
            name = "bench mock upstream",
            provider = "openai-compatible",
            baseUrl = options.Required("upstream").TrimEnd('/') + "/v1",
            apiKey = "sk-bench-upstream",
            models = Models,
            priority = 10,
        });
        if (!created)
        {
            return 1;
        }

        var plain = await admin.CreateKeyAsync(new { name = "bench", owner = "bench" });
        var limited = await admin.CreateKeyAsync(new { name = "bench-limited", owner = "bench", limits = Limits });
        if (plain is null || limited is null)
        {
            return 1;
        }

        Console.WriteLine(plain);
        Console.WriteLine(limited);
        return 0;
    }
}
