using System.Net.Http.Json;
using System.Text.Json;

namespace Serverless.Bench;

/// <summary>
/// The several-accounts case (issue 11: "one account and several"). <c>pool-setup</c> adds accounts on the mock
/// upstream, each with a credential of its own and a concurrency cap, serving the model <see cref="Model"/> alone, so
/// the load matrix's one-account model is untouched. wrk then sends each request with one of many session ids
/// (<c>BENCH_SESSIONS</c>), so sticky sessions spread over the accounts and a session whose account is at its cap
/// moves. <c>pool-state</c> prints what each account has served (the mock counts requests by credential) and its
/// health on the relay; <c>pool-remove</c> deletes the accounts, so later steps see one account again.
/// </summary>
internal static class AccountPoolCase
{
    public const string Model = "pool-model";

    /// <summary>What the mock sees in <c>Authorization</c> from the case's accounts; the account's number follows.</summary>
    public const string CredentialPrefix = "Bearer sk-bench-pool-";

    private const string NamePrefix = "bench pool account ";

    public static async Task<int> SetupAsync(CommandLine options)
    {
        using var admin = new AdminApi(options.Required("relay"), options.Required("admin-key"));
        var accounts = options.Int("accounts", 4);
        var cap = options.Int("cap", 300);
        for (var i = 1; i <= accounts; i++)
        {
            var created = await admin.CreateAccountAsync(new
            {
                name = NamePrefix + i,
                provider = "openai-compatible",
                baseUrl = options.Required("upstream").TrimEnd('/') + "/v1",
                apiKey = CredentialPrefix["Bearer ".Length..] + i,
                models = new[] { Model },
                priority = 10,
                maxConcurrency = cap,
            });
            if (!created)
            {
                return 1;
            }
        }

        return 0;
    }

    /// <summary>One JSON line: <c>{"served":{"1":n,…},"health":{"1":"available",…}}</c>, by account number.</summary>
    public static async Task<int> StateAsync(CommandLine options)
    {
        using var admin = new AdminApi(options.Required("relay"), options.Required("admin-key"));
        using var upstream = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var served = await upstream.GetFromJsonAsync<Dictionary<string, long>>(options.Required("upstream").TrimEnd('/') + "/accounts") ?? [];
        var health = (await admin.ListAccountsAsync())
            .Where(a => a.Name.StartsWith(NamePrefix, StringComparison.Ordinal))
            .ToDictionary(a => a.Name[NamePrefix.Length..], a => a.Health);
        Console.WriteLine(JsonSerializer.Serialize(new { served, health }));
        return 0;
    }

    public static async Task<int> RemoveAsync(CommandLine options)
    {
        using var admin = new AdminApi(options.Required("relay"), options.Required("admin-key"));
        var removed = 0;
        foreach (var account in (await admin.ListAccountsAsync()).Where(a => a.Name.StartsWith(NamePrefix, StringComparison.Ordinal)))
        {
            removed += await admin.DeleteAccountAsync(account.Id) ? 1 : 0;
        }

        Console.WriteLine(removed + " accounts removed");
        return 0;
    }
}
