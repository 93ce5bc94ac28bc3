using System.Text.Json;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Failover;

/// <summary>Misbehaving loopback upstreams behind a real relay: failover before the first byte, marks, caps.</summary>
public sealed class FailoverTests(AzuriteFixture azurite)
{
    private static readonly Dictionary<string, object?>[] TwoTiers = [PoolRelay.Account(priority: 10), PoolRelay.Account(priority: 0)];

    [Fact]
    public async Task Relay_429WithRetryAfter_FailsOverAndCoolsDownTheAccount()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers);
        pool.Upstreams[0].Script = new UpstreamScript { FailStatus = 429, RetryAfter = TimeSpan.FromSeconds(120) };

        var first = await pool.ChatAsync();
        var second = await pool.ChatAsync();

        Assert.Equal(200, first.Status);
        Assert.Equal(200, second.Status);
        Assert.Equal(1, pool.Hits(0)); // the cool-down is respected: the second request went straight to the next account
        Assert.Equal(2, pool.Hits(1));
        var health = await pool.HealthAsync(0);
        Assert.Equal("cooling-down", health.GetProperty("status").GetString());
        Assert.InRange(health.GetProperty("until").GetDateTimeOffset() - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(100), TimeSpan.FromSeconds(121));
        Assert.Equal("upstream answered 429", health.GetProperty("lastError").GetString());
        Assert.Equal(0.0, health.GetProperty("successRate").GetDouble());
        Assert.Equal("available", (await pool.HealthAsync(1)).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData(529)]
    [InlineData(503)]
    [InlineData(500)]
    public async Task Relay_ServerSideFailure_FailsOverToTheNextAccount(int status)
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers);
        pool.Upstreams[0].Script = new UpstreamScript { FailStatus = status };

        var answer = await pool.ChatAsync();

        Assert.Equal(200, answer.Status);
        Assert.Equal(1, pool.Hits(0));
        Assert.Equal(1, pool.Hits(1));
        Assert.Equal(status == 529 ? "cooling-down" : "available", (await pool.HealthAsync(0)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Relay_HangingUpstream_TimesOutAndFailsOver()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers, new Dictionary<string, string?> { ["Failover:AttemptTimeout"] = "00:00:01" });
        pool.Upstreams[0].Script = new UpstreamScript { Hang = true };

        var answer = await pool.ChatAsync(stream: true);

        Assert.Equal(200, answer.Status);
        Assert.Contains("data: [DONE]", answer.Body, StringComparison.Ordinal);
        Assert.Equal(1, pool.Hits(0));
        Assert.Equal(1, pool.Hits(1));
        Assert.Equal("The upstream did not answer within 1 s.", (await pool.HealthAsync(0)).GetProperty("lastError").GetString());
    }

    [Fact]
    public async Task Relay_ConnectionResetBeforeAnswer_FailsOver()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers);
        pool.Upstreams[0].Script = new UpstreamScript { Reset = true };

        var answer = await pool.ChatAsync();

        Assert.Equal(200, answer.Status);
        Assert.Equal(1, pool.Hits(1));
        Assert.StartsWith("Could not reach the upstream openai", (await pool.HealthAsync(0)).GetProperty("lastError").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Relay_StreamBreaksAfterFirstByte_NoRetryAndAnErrorEvent()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers);
        pool.Upstreams[0].Script = new UpstreamScript { BreakAfterEvents = 2 };

        var answer = await pool.ChatAsync(stream: true);

        Assert.Equal(200, answer.Status); // the status went out with the first byte
        Assert.Contains("\"error\"", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("data: [DONE]", answer.Body, StringComparison.Ordinal);
        Assert.Equal(1, pool.Hits(0));
        Assert.Equal(0, pool.Hits(1));
    }

    [Fact]
    public async Task Relay_RepeatedServerErrors_OpenTheCircuitAndStopCallingTheAccount()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers, new Dictionary<string, string?> { ["Accounts:CircuitFailureThreshold"] = "2" });
        pool.Upstreams[0].Script = new UpstreamScript { FailStatus = 502 };

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(200, (await pool.ChatAsync()).Status);
        }

        Assert.Equal(2, pool.Hits(0));
        Assert.Equal(4, pool.Hits(1));
        var health = await pool.HealthAsync(0);
        Assert.Equal("circuit-open", health.GetProperty("status").GetString());
        var events = JsonDocument.Parse(await pool.Host.Admin.GetStringAsync("api/admin/accounts/events", TestContext.Current.CancellationToken)).RootElement.GetProperty("data");
        var opened = Assert.Single(events.EnumerateArray());
        Assert.Equal(pool.AccountIds[0], opened.GetProperty("account").GetString());
        Assert.Equal("circuit-open", opened.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Relay_Upstream401_DisablesTheAccountWithItsReason()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers);
        pool.Upstreams[0].ApiKey = "rotated-elsewhere";

        Assert.Equal(200, (await pool.ChatAsync()).Status);
        Assert.Equal(200, (await pool.ChatAsync()).Status);

        Assert.Equal(1, pool.Hits(0));
        var health = await pool.HealthAsync(0);
        Assert.Equal("disabled", health.GetProperty("status").GetString());
        Assert.Equal("upstream answered 401", health.GetProperty("lastError").GetString());

        // An admin change (a new key) clears the mark.
        pool.Upstreams[0].ApiKey = "upstream-secret";
        using var patch = await pool.Host.Admin.PatchAsync("api/admin/accounts/" + pool.AccountIds[0], new StringContent("{\"apiKey\":\"upstream-secret\"}", System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal("available", (await pool.HealthAsync(0)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Relay_EveryCandidateFails_ClientGetsTheLastUpstreamError()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers);
        pool.Upstreams[0].Script = new UpstreamScript { FailStatus = 500, FailMessage = "first broke" };
        pool.Upstreams[1].Script = new UpstreamScript { FailStatus = 503, FailMessage = "second broke" };

        var answer = await pool.ChatAsync();

        Assert.Equal(503, answer.Status);
        Assert.Equal("second broke", JsonDocument.Parse(answer.Body).RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Relay_MaxAttemptsReached_StopsEvenWithCandidatesLeft()
    {
        await using var pool = await PoolRelay.StartAsync(
            azurite, [PoolRelay.Account(priority: 3), PoolRelay.Account(priority: 2), PoolRelay.Account(priority: 1)],
            new Dictionary<string, string?> { ["Failover:MaxAttempts"] = "2" });
        pool.Upstreams[0].Script = new UpstreamScript { FailStatus = 500 };
        pool.Upstreams[1].Script = new UpstreamScript { FailStatus = 500 };

        var answer = await pool.ChatAsync();

        Assert.Equal(500, answer.Status);
        Assert.Equal([1, 1, 0], [pool.Hits(0), pool.Hits(1), pool.Hits(2)]);
    }

    [Fact]
    public async Task Relay_EveryAccountCoolingDown_503WithoutCallingAnyone()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers);
        pool.Upstreams[0].Script = new UpstreamScript { FailStatus = 429, RetryAfter = TimeSpan.FromSeconds(60) };
        pool.Upstreams[1].Script = new UpstreamScript { FailStatus = 429, RetryAfter = TimeSpan.FromSeconds(30) };
        Assert.Equal(429, (await pool.ChatAsync()).Status);

        var answer = await pool.ChatAsync();

        Assert.Equal(503, answer.Status);
        Assert.Equal([1, 1], [pool.Hits(0), pool.Hits(1)]);
        Assert.StartsWith("No upstream account can serve 'm' right now: 'account 0' is cooling down until ", JsonDocument.Parse(answer.Body).RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.InRange(int.Parse(answer.Response.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture), 25, 30);
    }

    [Fact]
    public async Task Relay_ParallelLoad_ConcurrencyCapsHold()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account(maxConcurrency: 2), PoolRelay.Account(maxConcurrency: 3)]);
        foreach (var upstream in pool.Upstreams)
        {
            upstream.Script = new UpstreamScript { EventDelay = TimeSpan.FromMilliseconds(150) };
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => pool.ChatAsync(stream: true)));

        Assert.InRange(pool.Upstreams[0].MaxInFlight, 1, 2);
        Assert.InRange(pool.Upstreams[1].MaxInFlight, 1, 3);
        Assert.All(answers, a => Assert.True(a.Status is 200 or 503, a.Body));
        Assert.True(answers.Count(a => a.Status == 200) >= 5, string.Join("\n", answers.Select(a => a.Status + " " + a.Body[..Math.Min(300, a.Body.Length)])));
        Assert.Equal(answers.Count(a => a.Status == 200), pool.Hits(0) + pool.Hits(1));
    }
}
