using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Serverless.Tests.Failover;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Sessions;

public sealed class StickySessionTests(AzuriteFixture azurite)
{
    private static readonly Dictionary<string, object?>[] TwoEquals = [PoolRelay.Account(), PoolRelay.Account()];

    // NOTE: these tests are about bindings, not about the hot-path storage deadline (StorageOutageTests): a loaded
    // test machine must not turn a slow Azurite read into a lost binding.
    private static readonly Dictionary<string, string?> PatientStorage = new() { ["Storage:HotPathTimeout"] = "00:00:10" };

    [Theory]
    [InlineData("header")]
    [InlineData("user")]
    public async Task Relay_SameSession_KeepsItsAccountWhileRoundRobinWouldAlternate(string carrier)
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoEquals, PatientStorage);

        for (var i = 0; i < 6; i++)
        {
            var answer = carrier == "header" ? await pool.ChatAsync(session: "conv-1") : await pool.ChatAsync(user: "conv-1");
            Assert.Equal(200, answer.Status);
        }

        Assert.Contains(6, new[] { pool.Hits(0), pool.Hits(1) });
    }

    [Fact]
    public async Task Relay_StickyAccountCoolsDown_SessionMovesAtOnceAndStaysMoved()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoEquals, PatientStorage);
        Assert.Equal(200, (await pool.ChatAsync(session: "conv-2")).Status);
        var bound = pool.Hits(0) == 1 ? 0 : 1;
        var other = 1 - bound;
        pool.Upstreams[bound].Script = new UpstreamScript { FailStatus = 429, FailTimes = 1, RetryAfter = TimeSpan.FromMinutes(5) };

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(200, (await pool.ChatAsync(session: "conv-2")).Status);
        }

        Assert.Equal(2, pool.Hits(bound)); // the first answer, then the one 429
        Assert.Equal(4, pool.Hits(other));
        var row = await WaitForBindingAsync(pool.Host.Table("sessions"), pool.AccountIds[other]);
        Assert.True(row.GetDateTimeOffset("ExpiresAt") > DateTimeOffset.UtcNow.AddMinutes(59));
    }

    [Fact]
    public async Task Relay_TwoHandlerProcesses_HonourOneAnothersBindings()
    {
        var prefix = "s" + Guid.NewGuid().ToString("N")[..10];
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_TABLE_PREFIX"] = prefix,
            ["RELAY_ADMIN_KEY"] = RelayHost.AdminKey,
            ["RELAY_ENCRYPTION_KEYS"] = "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Sessions__LocalCacheTtl"] = "00:00:00",
            ["Storage__HotPathTimeout"] = "00:00:10",
        };
        await using var upstreamA = await LoopbackUpstream.StartAsync(TestContext.Current.CancellationToken);
        await using var upstreamB = await LoopbackUpstream.StartAsync(TestContext.Current.CancellationToken);
        var ports = new[] { HandlerProcess.FreePort(), HandlerProcess.FreePort() };
        await using var first = await HandlerProcess.StartAsync(ports[0], With(settings, ports[0]), TimeSpan.FromSeconds(60));
        await using var second = await HandlerProcess.StartAsync(ports[1], With(settings, ports[1]), TimeSpan.FromSeconds(60));
        using var admin = new HttpClient { BaseAddress = first.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RelayHost.AdminKey);
        foreach (var upstream in new[] { upstreamA, upstreamB })
        {
            using var created = await admin.PostAsync("api/admin/accounts", Json($$"""{"name":"a","provider":"openai","baseUrl":"{{upstream.OpenAIBaseUrl}}","apiKey":"{{upstream.ApiKey}}","models":["m"]}"""), TestContext.Current.CancellationToken);
            Assert.True(created.IsSuccessStatusCode);
        }

        using var keyAnswer = await admin.PostAsync("api/admin/keys", Json("""{"name":"k"}"""), TestContext.Current.CancellationToken);
        var key = System.Text.Json.JsonDocument.Parse(await keyAnswer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("key").GetString();
        var sessions = new TableClient(azurite.ConnectionString, prefix + "sessions");

        for (var s = 0; s < 4; s++)
        {
            var session = "two-process-" + s;
            var servedBy = await ChatAsync(first, key!, session, upstreamA, upstreamB);
            await WaitForAnyBindingAsync(sessions, s + 1);
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(servedBy, await ChatAsync(second, key!, session, upstreamA, upstreamB));
            }
        }
    }

    private static Dictionary<string, string> With(Dictionary<string, string> settings, int port) =>
        new(settings) { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" };

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Which upstream served one request of <paramref name="session"/> through <paramref name="handler"/>.</summary>
    private static async Task<string> ChatAsync(HandlerProcess handler, string key, string session, LoopbackUpstream a, LoopbackUpstream b)
    {
        var before = (a.Requests.Count, b.Requests.Count);
        using var client = new HttpClient { BaseAddress = handler.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = Json("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        request.Headers.Add("x-session-id", session);
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return a.Requests.Count > before.Item1 ? "a" : b.Requests.Count > before.Item2 ? "b" : throw new InvalidOperationException("no upstream was called");
    }

    /// <summary>Bindings are written in the background: wait (bounded) until storage holds one to this account.</summary>
    private static async Task<TableEntity> WaitForBindingAsync(TableClient table, string accountId) =>
        (await Eventually.ValueAsync(
            $"a session binding to {accountId}",
            async ct => (await AllRowsAsync(table, ct)).FirstOrDefault(row => row.GetString("AccountId") == accountId),
            row => row is not null,
            timeout: TimeSpan.FromSeconds(10)))!;

    /// <summary>Waits (bounded) until storage holds at least <paramref name="count"/> bindings; the table is created with the first.</summary>
    private static Task<List<TableEntity>> WaitForAnyBindingAsync(TableClient table, int count) =>
        Eventually.ValueAsync($"{count} session bindings", ct => AllRowsAsync(table, ct), rows => rows.Count >= count, rows => $"{rows.Count} rows", TimeSpan.FromSeconds(10));

    private static async Task<List<TableEntity>> AllRowsAsync(TableClient table, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }
}
