using System.Text;
using System.Text.Json;
using Serverless.Tests.Failover;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Upstreams;

/// <summary>
/// Issue 11, "the relay's own connection burst must not open a circuit": the relay opens at most
/// <c>UpstreamHttp:MaxConnectionsPerServer</c> connections to one upstream server, the calls beyond wait for one and
/// are all served, and a call that timed out waiting for a connection is the relay's own wait: it fails over without
/// marking the account.
/// </summary>
public sealed class ConnectionCapTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Relay_BurstAboveTheConnectionCap_OpensAtMostTheCapAndServesEveryRequest()
    {
        const int Cap = 8;
        await using var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account()], new Dictionary<string, string?>
        {
            ["UpstreamHttp:MaxConnectionsPerServer"] = Cap.ToString(),
            ["Accounts:CircuitFailureThreshold"] = "1",
        });

        // Hold every answer until Cap requests are at the upstream at once: the cap must allow that many, and no more.
        var full = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = 0;
        pool.Upstreams[0].Script = new UpstreamScript
        {
            BeforeAnswer = ct =>
            {
                if (Interlocked.Increment(ref arrived) >= Cap)
                {
                    full.TrySetResult();
                }

                return full.Task.WaitAsync(ct);
            },
        };

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => pool.ChatAsync(stream: i % 2 == 0)));

        Assert.All(answers, answer => Assert.Equal(200, answer.Status));
        Assert.Equal(Cap, pool.Upstreams[0].MaxConnections);
        Assert.Equal(50, pool.Hits(0));
        var health = await pool.HealthAsync(0);
        Assert.Equal("available", health.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Relay_CallTimesOutWaitingForAConnection_FailsOverWithoutMarkingTheAccount()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account(priority: 10), PoolRelay.Account(priority: 0)], new Dictionary<string, string?>
        {
            ["UpstreamHttp:MaxConnectionsPerServer"] = "1",
            ["Accounts:CircuitFailureThreshold"] = "1",
            ["Failover:AttemptTimeout"] = "00:00:00.500",
        });
        var ct = TestContext.Current.CancellationToken;

        // A stream on the first account holds its only connection after its first event (its attempt has succeeded).
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pool.Upstreams[0].Script = new UpstreamScript { BeforeContentEvent = (sent, token) => sent >= 1 ? release.Task.WaitAsync(token) : Task.CompletedTask };
        var json = JsonSerializer.Serialize(new { model = "m", stream = true, messages = new[] { new { role = "user", content = "held" } } });
        using var held = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var stream = await pool.Client.SendAsync(held, HttpCompletionOption.ResponseHeadersRead, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(200, (int)stream.StatusCode);

        // The next call waits for that connection past its attempt timeout, then goes to the second account.
        var next = await pool.ChatAsync();

        Assert.Equal(200, next.Status);
        Assert.Equal(1, pool.Hits(0));
        Assert.Equal(1, pool.Hits(1));
        var health = await pool.HealthAsync(0);
        Assert.Equal("available", health.GetProperty("status").GetString());
        Assert.Equal("The relay's connections to the upstream openai stayed busy; retry shortly.", health.GetProperty("lastError").GetString());

        release.TrySetResult();
        var rest = await stream.Content.ReadAsStringAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.EndsWith("data: [DONE]\n\n", rest, StringComparison.Ordinal);
    }
}
