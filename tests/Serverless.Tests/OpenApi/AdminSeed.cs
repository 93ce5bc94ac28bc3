using System.Text.Json;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.OpenApi;

/// <summary>A relay holding one of every admin resource, made through the admin API, with a relayed request metered and audited.</summary>
internal sealed record AdminSeed(IReadOnlyDictionary<string, string> Ids)
{
    public static async Task<AdminSeed> CreateAsync(RelayHost host, LoopbackUpstream upstream)
    {
        var ct = TestContext.Current.CancellationToken;
        var accountId = await host.CreateLoopbackAccountAsync(upstream, "openai", ["m-seed"]);
        var (keyId, key) = await host.CreateKeyWithIdAsync(new { name = "seed", owner = "seed-owner", limits = new { rpm = 100 } });
        await Post(host, "api/admin/models", """{"name":"seed-group","targets":[{"provider":"openai","upstreamModel":"m-seed"}]}""");
        var channel = await Post(host, "api/admin/channels", """{"platform":"telegram","name":"bot","model":"m-seed","credentials":{"botToken":"tg-1","secretToken":"tg-2"}}""");
        var target = await Post(host, "api/admin/notifications", """{"type":"slack","name":"ops","url":"https://hooks.slack.com/services/T0/B0/x"}""");

        using var http = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m-seed","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using var answer = await http.SendAsync(request, ct);
        answer.EnsureSuccessStatusCode();
        var requestId = answer.Headers.GetValues("x-request-id").Single();
        await Eventually.TrueAsync("the seed request's audit row", async token =>
            (await host.SendAsync(HttpMethod.Get, $"api/admin/audit/{keyId}/{requestId}", ct: token)).Status == 200);

        return new AdminSeed(new Dictionary<string, string>
        {
            ["accounts/{id}"] = accountId,
            ["keys/{id}"] = keyId,
            ["models/{name}"] = "seed-group",
            ["channels/{id}"] = channel.GetProperty("id").GetString()!,
            ["notifications/{id}"] = target.GetProperty("id").GetString()!,
            ["keyId"] = keyId,
            ["requestId"] = requestId,
            ["key"] = key,
            ["owner"] = "seed-owner",
        });
    }

    /// <summary>The admin path of a route template with the seeded ids in place of its parameters.</summary>
    public string PathOf(string template)
    {
        var segments = template.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            if (segments[i] is ['{', .., '}'])
            {
                var scoped = segments[i - 1] + "/" + segments[i];
                segments[i] = Ids.TryGetValue(scoped, out var id) ? id : Ids[segments[i][1..^1]];
            }
        }

        return string.Join('/', segments);
    }

    private static async Task<JsonElement> Post(RelayHost host, string path, string json)
    {
        var answer = await host.SendAsync(HttpMethod.Post, path, json, ct: TestContext.Current.CancellationToken);
        if (answer.Status is not (200 or 201))
        {
            throw new InvalidOperationException($"seeding {path} failed: {answer.Status} {answer.Body}");
        }

        return answer.Json;
    }
}
