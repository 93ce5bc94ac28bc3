using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Failover;

/// <summary>
/// Issue 11, "no self-inflicted failures": what the relay does to itself (a client that leaves, its own attempt
/// timeout, a connection that fails before any response) never takes the last available account out, so the next
/// request is served as soon as the upstream is fine; a genuine upstream 429 or 5xx still marks it as before.
/// </summary>
public sealed class SelfInflictedFailureTests(AzuriteFixture azurite)
{
    // One failure is enough to open a circuit: any mark the relay should not make shows at once.
    private static readonly Dictionary<string, string?> Sensitive = new()
    {
        ["Accounts:CircuitFailureThreshold"] = "1",
        ["Failover:AttemptTimeout"] = "00:00:00.500",
    };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Relay_ClientLeavesWhileTheFirstAccountIsSlow_NothingMarkedNothingElseTriedAndTheNextServed(bool stream)
    {
        await using var pool = await PoolRelay.StartAsync(
            azurite,
            [PoolRelay.Account(priority: 10), PoolRelay.Account(priority: 0)],
            new Dictionary<string, string?>(Sensitive) { ["Failover:AttemptTimeout"] = "00:00:30" });
        pool.Upstreams[0].Script = new UpstreamScript { Hang = true };

        using (var leaving = new CancellationTokenSource())
        {
            var request = SendAsync(pool, stream, leaving.Token);
            await Eventually.ValueAsync("the upstream holding the request", _ => Task.FromResult(pool.Hits(0)), hits => hits == 1);
            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }

        // The relay notices the disconnect and gives the slot back; the request is metered as the client's leaving.
        await Eventually.ValueAsync("the account's slot released", async ct => (await pool.HealthAsync(0)).GetProperty("inFlight").GetInt32(), inFlight => inFlight == 0);
        var row = Assert.Single(await pool.Host.UsageRowsAsync(pool.KeyId, 1, TimeSpan.FromSeconds(30)));
        Assert.Equal(499, row.GetInt32("Status"));

        // Nothing else may have changed: the client's leaving is not the account's failure, nor a reason to try another.
        var slow = await pool.HealthAsync(0);
        Assert.Equal("available", slow.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, slow.GetProperty("lastError").ValueKind);
        Assert.Equal(0, pool.Hits(1));

        pool.Upstreams[0].Script = new UpstreamScript();
        var next = await pool.ChatAsync();
        Assert.Equal(200, next.Status);
        Assert.Equal(2, pool.Hits(0));
    }

    [Fact]
    public async Task Relay_AttemptTimeoutsOnTheOnlyAccount_NeverOpenItsCircuit()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account()], Sensitive);
        pool.Upstreams[0].Script = new UpstreamScript { Hang = true };

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(504, (await pool.ChatAsync()).Status);
        }

        var health = await pool.HealthAsync(0);
        Assert.Equal("available", health.GetProperty("status").GetString());
        Assert.Equal("The upstream did not answer within 0.5 s.", health.GetProperty("lastError").GetString()); // seen, not held against it

        pool.Upstreams[0].Script = new UpstreamScript();
        Assert.Equal(200, (await pool.ChatAsync()).Status);
        Assert.Equal(4, pool.Hits(0));
    }

    [Fact]
    public async Task Relay_ConnectionFailuresOnTheOnlyAccount_NeverOpenItsCircuit()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account()], Sensitive);
        pool.Upstreams[0].Script = new UpstreamScript { Reset = true };

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(502, (await pool.ChatAsync()).Status);
        }

        Assert.Equal("available", (await pool.HealthAsync(0)).GetProperty("status").GetString());
        pool.Upstreams[0].Script = new UpstreamScript();
        Assert.Equal(200, (await pool.ChatAsync()).Status);
    }

    [Fact]
    public async Task Relay_AttemptTimeoutWithAnotherAccountLeft_StillMarksTheSlowOne()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account(priority: 10), PoolRelay.Account(priority: 0)], Sensitive);
        pool.Upstreams[0].Script = new UpstreamScript { Hang = true };

        Assert.Equal(200, (await pool.ChatAsync()).Status);

        Assert.Equal("circuit-open", (await pool.HealthAsync(0)).GetProperty("status").GetString());
        Assert.Equal("available", (await pool.HealthAsync(1)).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData(429, "cooling-down")]
    [InlineData(500, "circuit-open")]
    public async Task Relay_GenuineUpstreamFailureOnTheOnlyAccount_StillMarksIt(int status, string mark)
    {
        await using var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account()], Sensitive);
        pool.Upstreams[0].Script = new UpstreamScript { FailStatus = status };

        Assert.Equal(status, (await pool.ChatAsync()).Status);

        Assert.Equal(mark, (await pool.HealthAsync(0)).GetProperty("status").GetString());
    }

    private static async Task SendAsync(PoolRelay pool, bool stream, CancellationToken cancellationToken)
    {
        var json = $$"""{"model":"m","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"Hello"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pool.Key);
        using var client = pool.Host.CreateClient();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await response.Content.ReadAsStringAsync(cancellationToken);
    }
}
