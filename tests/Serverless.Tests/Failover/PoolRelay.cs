using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Failover;

/// <summary>A relay with one account per loopback upstream (OpenAI-shaped unless told), all serving model <c>m</c>.</summary>
internal sealed class PoolRelay : IAsyncDisposable
{
    private PoolRelay(RelayHost host, LoopbackUpstream[] upstreams, string[] accountIds, (string Id, string Key) key)
    {
        Host = host;
        Upstreams = upstreams;
        AccountIds = accountIds;
        (KeyId, Key) = key;
        Client = host.CreateClient();
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
    }

    public RelayHost Host { get; }

    public LoopbackUpstream[] Upstreams { get; }

    public string[] AccountIds { get; }

    public string Key { get; }

    public string KeyId { get; }

    public HttpClient Client { get; }

    /// <param name="accounts">One upstream and account per entry: its priority and extra admin fields.</param>
    /// <param name="provider">Every account's provider: <c>openai</c> or <c>gemini</c>.</param>
    public static async Task<PoolRelay> StartAsync(AzuriteFixture azurite, IReadOnlyList<Dictionary<string, object?>> accounts, IDictionary<string, string?>? settings = null, string provider = "openai")
    {
        var host = await RelayHost.StartAsync(azurite, settings);
        var upstreams = new LoopbackUpstream[accounts.Count];
        var ids = new string[accounts.Count];
        for (var i = 0; i < accounts.Count; i++)
        {
            upstreams[i] = await LoopbackUpstream.StartAsync(CancellationToken.None);
            var body = new Dictionary<string, object?>
            {
                ["name"] = "account " + i,
                ["provider"] = provider,
                ["baseUrl"] = provider == "gemini" ? upstreams[i].GeminiBaseUrl : upstreams[i].OpenAIBaseUrl,
                ["apiKey"] = upstreams[i].ApiKey,
                ["models"] = new[] { "m" },
            };
            foreach (var (field, value) in accounts[i])
            {
                body[field] = value;
            }

            ids[i] = await host.CreateAccountAsync(body);
        }

        return new PoolRelay(host, upstreams, ids, await host.CreateKeyWithIdAsync());
    }

    public static Dictionary<string, object?> Account(int priority = 0, int? maxConcurrency = null) =>
        new() { ["priority"] = priority, ["maxConcurrency"] = maxConcurrency };

    public async Task<(int Status, string Body, HttpResponseMessage Response)> ChatAsync(bool stream = false, string? session = null, string? user = null)
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model"] = "m",
            ["messages"] = new[] { new { role = "user", content = "Hello " + Guid.NewGuid().ToString("N") } },
            ["stream"] = stream,
            ["user"] = user,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (session is not null)
        {
            request.Headers.Add("x-session-id", session);
        }

        var response = await Client.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30));
        return ((int)response.StatusCode, body, response);
    }

    /// <summary>The health object of an account in <c>GET /api/admin/accounts</c>.</summary>
    public async Task<JsonElement> HealthAsync(int index)
    {
        var list = JsonDocument.Parse(await Host.Admin.GetStringAsync("api/admin/accounts", TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30))).RootElement;
        return list.GetProperty("data").EnumerateArray().Single(a => a.GetProperty("id").GetString() == AccountIds[index]).GetProperty("health").Clone();
    }

    public int Hits(int index) => Upstreams[index].Requests.Count;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
        foreach (var upstream in Upstreams)
        {
            await upstream.DisposeAsync();
        }
    }
}
