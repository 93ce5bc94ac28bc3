using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Failover;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Accounts;

public sealed class ModelGroupTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Relay_ModelGroup_SpreadsToItsTargetThenItsFallback()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account(), PoolRelay.Account()]);
        using var created = await pool.Host.Admin.PostAsJsonAsync(
            "api/admin/models",
            new { name = "smart", strategy = "priority", targets = new[] { new { account = pool.AccountIds[0], upstreamModel = "real-a" } }, fallback = new[] { "m" } },
            TestContext.Current.CancellationToken);
        Assert.Equal(201, (int)created.StatusCode);

        Assert.Equal(200, (await ChatAsync(pool, "smart")).Status);
        Assert.Equal("real-a", pool.Upstreams[0].LastRequest.Json.GetProperty("model").GetString());

        pool.Upstreams[0].Script = new UpstreamScript { FailStatus = 500 };
        Assert.Equal(200, (await ChatAsync(pool, "smart")).Status);
        Assert.Equal("m", pool.Upstreams[1].LastRequest.Json.GetProperty("model").GetString());

        var listed = JsonDocument.Parse(await pool.Host.Admin.GetStringAsync("api/admin/models", TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("smart", listed.GetProperty("data")[0].GetProperty("name").GetString());
        using var deleted = await pool.Host.Admin.DeleteAsync("api/admin/models/smart", TestContext.Current.CancellationToken);
        Assert.Equal(204, (int)deleted.StatusCode);
        Assert.Equal(404, (await ChatAsync(pool, "smart")).Status);
    }

    [Fact]
    public async Task CreateGroup_InvalidBody_400WithEveryProblem()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, []);

        using var answer = await pool.Host.Admin.PostAsync(
            "api/admin/models",
            new StringContent("""{"name":"a/b","targets":[{"provider":"nope","upstreamModel":"x"}],"strategy":"random","fallback":"m"}""", Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);

        Assert.Equal(400, (int)answer.StatusCode);
        var error = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Equal(
            "name must be a non-empty string of at most 200 characters without '/', '\\', '#', '?' or control characters; "
            + "targets must be a non-empty array of {\"account\": id} or {\"provider\": name} objects, each with a non-empty upstreamModel; "
            + "strategy must be one of: priority, least-busy, weighted; fallback must be an array of model names",
            error.GetProperty("message").GetString());
        Assert.Equal("name", error.GetProperty("param").GetString());
    }

    private static async Task<(int Status, string Body)> ChatAsync(PoolRelay pool, string model)
    {
        using var response = await pool.Client.PostAsync(
            "v1/chat/completions",
            new StringContent($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
