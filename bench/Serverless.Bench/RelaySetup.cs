using System.Net.Http.Json;
using System.Text.Json;

namespace Serverless.Bench;

/// <summary>Creates, through the admin API, the upstream account pointing at the mock and a client key; prints the key.</summary>
internal static class RelaySetup
{
    private static readonly string[] Models = ["bench-*"];

    public static async Task<int> RunAsync(CommandLine options)
    {
        using var http = new HttpClient { BaseAddress = new Uri(options.Required("relay")), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", options.Required("admin-key"));

        using var account = await http.PostAsJsonAsync("/admin/accounts", new
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

        using var key = await http.PostAsJsonAsync("/admin/keys", new { name = "bench", owner = "bench" });
        var text = await key.Content.ReadAsStringAsync();
        if (!key.IsSuccessStatusCode)
        {
            await Console.Error.WriteLineAsync($"key: {(int)key.StatusCode} {text}");
            return 1;
        }

        using var json = JsonDocument.Parse(text);
        Console.WriteLine(json.RootElement.GetProperty("key").GetString());
        return 0;
    }
}
