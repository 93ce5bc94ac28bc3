using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Serverless.Relay.Keys;
using Serverless.Tests.Failover;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Sessions;

/// <summary>
/// Issue 8: with Table storage unreachable, a new conversation answered an empty 500 after 5.6 s although the upstream
/// was fine. Now the relay degrades: no sticky binding, cached keys and accounts served, usage rows held until storage
/// is back, and a 503 in the client's shape only for what cannot be decided (a key never seen).
/// </summary>
public sealed class StorageOutageTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(StorageMode.Refuse)]
    [InlineData(StorageMode.Hang)]
    public async Task Relay_StorageDownAfterKeyAndAccountsCached_NewConversationAnsweredWithoutBinding(StorageMode mode)
    {
        await using var proxy = StorageProxy.Start(azurite.TablePort);
        await using var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account()], new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = proxy.Through(azurite.ConnectionString),
            ["Storage:HotPathTimeout"] = "00:00:00.300",
            ["Storage:DecisiveReadTimeout"] = "00:00:01",
        });
        Assert.Equal(200, (await pool.ChatAsync(session: "warm-up")).Status);

        proxy.Mode = mode;
        var started = Stopwatch.StartNew();
        var answer = await pool.ChatAsync(session: "a-new-conversation");
        var elapsed = started.Elapsed;
        var again = await pool.ChatAsync(session: "another-new-conversation");

        Assert.Equal(200, answer.Status);
        Assert.Equal(200, again.Status);
        Assert.Contains("choices", answer.Body, StringComparison.Ordinal);
        // Was 5.6 s (the SDK's retries) on a refused port and unbounded on a hanging one; now the 300 ms deadline.
        Assert.True(elapsed < TimeSpan.FromSeconds(2.5), $"took {elapsed}");

        // A key never seen on this instance cannot be decided: 503 in the OpenAI shape, with Retry-After.
        using var stranger = pool.Host.CreateClient();
        stranger.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClientKeySecret.Generate().Plaintext);
        using var refused = await stranger.PostAsync("v1/chat/completions", new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken).WaitAsync(Bound, TestContext.Current.CancellationToken);
        Assert.Equal(503, (int)refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Equal("The key store is unavailable; retry shortly.", error.GetProperty("message").GetString());

        // Usage rows were held, not dropped: all three arrive once storage answers again.
        proxy.Mode = StorageMode.Forward;
        Assert.Equal(3, await UsageRowCountAsync(pool.Host.Table("usage"), 3));
        Assert.Equal(3, pool.Hits(0));
    }

    /// <summary>Rows in the usage table, once there are <paramref name="expected"/> (the writer retries in the background).</summary>
    private static Task<int> UsageRowCountAsync(TableClient table, int expected) =>
        Eventually.ValueAsync(
            $"{expected} usage rows",
            async token =>
            {
                var rows = 0;
                await foreach (var _ in table.QueryAsync<TableEntity>(select: ["PartitionKey"], cancellationToken: token))
                {
                    rows++;
                }

                return rows;
            },
            rows => rows >= expected,
            timeout: Bound);
}
