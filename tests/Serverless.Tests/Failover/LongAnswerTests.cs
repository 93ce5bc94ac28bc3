using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Failover;

/// <summary>
/// Non-streamed same-format answers: one longer than the relay's head (64 KB) goes to the client as it arrives; a
/// failure inside the head is still failed over, one after the first byte cuts the client's body and marks the account.
/// </summary>
public sealed class LongAnswerTests(AzuriteFixture azurite)
{
    /// <summary>About 190 KB of answer text ("w1 w2 … w30000"): well past the relay's head.</summary>
    private const int LongReplyWords = 30_000;

    /// <summary>Where the loopback upstream pauses or breaks a long answer: past the head, so the relay has sent bytes on.</summary>
    private const int LongSplit = 100_000;

    private static readonly Dictionary<string, object?>[] TwoTiers = [PoolRelay.Account(priority: 10), PoolRelay.Account(priority: 0)];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Relay_LongAnswer_FirstBytesReachTheClientBeforeTheUpstreamSendsTheRest(bool contentLength)
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers);
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pool.Upstreams[0].Script = new UpstreamScript
        {
            ReplyWords = LongReplyWords,
            AnswerSplitAt = LongSplit,
            AnswerContentLength = contentLength,
            AtAnswerSplit = token => rest.Task.WaitAsync(TimeSpan.FromSeconds(30), token),
        };

        try
        {
            using var response = await SendAsync(pool);
            Assert.Equal(200, (int)response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync(Ct);

            // Everything the upstream has sent so far arrives while it holds the rest back.
            var received = new MemoryStream();
            var buffer = new byte[16 * 1024];
            while (received.Length < LongSplit)
            {
                var read = await body.ReadAsync(buffer, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
                Assert.NotEqual(0, read);
                received.Write(buffer, 0, read);
            }

            Assert.Equal(LongSplit, received.Length);
            rest.SetResult();
            await body.CopyToAsync(received, Ct);

            var answer = JsonDocument.Parse(received.ToArray()).RootElement;
            var text = answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
            Assert.Equal(string.Join(' ', Enumerable.Range(1, LongReplyWords).Select(i => "w" + i)), text);
            Assert.Equal(contentLength ? received.Length : null, response.Content.Headers.ContentLength);
            Assert.Equal(0, pool.Hits(1));

            // Metered from the end of the answer, after it was relayed.
            var row = Assert.Single(await pool.Host.UsageRowsAsync(pool.KeyId, 1, TimeSpan.FromSeconds(20)));
            Assert.Equal(200, row.GetInt32("Status"));
            Assert.Equal(CanonicalUsage.Output, row.GetInt64("OutputTokens"));
        }
        finally
        {
            rest.TrySetResult();
        }
    }

    [Fact]
    public async Task Relay_LongAnswerBreaksOffAfterTheFirstByte_ClientBodyCutAndAccountMarked()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers);
        var cutNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pool.Upstreams[0].Script = new UpstreamScript
        {
            ReplyWords = LongReplyWords,
            AnswerSplitAt = LongSplit,
            AtAnswerSplit = token => cutNow.Task.WaitAsync(TimeSpan.FromSeconds(30), token),
            BreakAtAnswerSplit = true,
        };

        try
        {
            using var response = await SendAsync(pool);
            await using var body = await response.Content.ReadAsStreamAsync(Ct);

            // The upstream cuts only once the client holds what it sent, so the break is after the first byte, never inside the head.
            await body.ReadExactlyAsync(new byte[LongSplit], Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
            cutNow.SetResult();

            // The status went out with the head; a chunked body that simply ended would look whole, so it must fail to read.
            Assert.Equal(200, (int)response.StatusCode);
            var cut = await Assert.ThrowsAnyAsync<Exception>(() => body.CopyToAsync(Stream.Null, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct));
            Assert.True(cut is HttpRequestException or IOException, cut.ToString());
        }
        finally
        {
            cutNow.TrySetResult();
        }

        Assert.Equal(1, pool.Hits(0));
        Assert.Equal(0, pool.Hits(1));
        Assert.StartsWith($"The upstream answer broke off after {LongSplit} bytes", (await pool.HealthAsync(0)).GetProperty("lastError").GetString(), StringComparison.Ordinal);
        var row = Assert.Single(await pool.Host.UsageRowsAsync(pool.KeyId, 1, TimeSpan.FromSeconds(20)));
        Assert.Equal(502, row.GetInt32("Status"));
        Assert.Contains("broke off", row.GetString("Error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Relay_LongAnswerStallsAfterTheFirstByte_CutAtTheIdleTimeout()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers, new Dictionary<string, string?> { ["Relay:StreamIdleTimeout"] = "00:00:01" });
        pool.Upstreams[0].Script = new UpstreamScript
        {
            ReplyWords = LongReplyWords,
            AnswerSplitAt = LongSplit,
            AtAnswerSplit = token => Task.Delay(Timeout.Infinite, token),
        };

        using var response = await SendAsync(pool);

        Assert.Equal(200, (int)response.StatusCode);
        var cut = await Assert.ThrowsAnyAsync<Exception>(() => response.Content.ReadAsByteArrayAsync(Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct));
        Assert.True(cut is HttpRequestException or IOException, cut.ToString());
        Assert.Equal(0, pool.Hits(1));
        Assert.Equal($"The upstream answer stopped for 1 s after {LongSplit} bytes.", (await pool.HealthAsync(0)).GetProperty("lastError").GetString());
        var row = Assert.Single(await pool.Host.UsageRowsAsync(pool.KeyId, 1, TimeSpan.FromSeconds(20)));
        Assert.Equal(504, row.GetInt32("Status"));
    }

    [Fact]
    public async Task Relay_AnswerStallsWithinItsHead_FailsOverToTheNextAccount()
    {
        // A stall rather than a cut: an abort may drop bytes the upstream flushed, so only a stall is sure to fall inside the head.
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers, new Dictionary<string, string?> { ["Failover:AttemptTimeout"] = "00:00:01" });
        pool.Upstreams[0].Script = new UpstreamScript { ReplyWords = 50, AnswerSplitAt = 40, AtAnswerSplit = token => Task.Delay(Timeout.Infinite, token) };

        var answer = await pool.ChatAsync();

        Assert.Equal(200, answer.Status);
        Assert.Equal("stop", JsonDocument.Parse(answer.Body).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(1, pool.Hits(0));
        Assert.Equal(1, pool.Hits(1));
        Assert.Equal("The upstream did not answer within 1 s.", (await pool.HealthAsync(0)).GetProperty("lastError").GetString());
    }

    private static async Task<HttpResponseMessage> SendAsync(PoolRelay pool)
    {
        const string Json = """{"model":"m","messages":[{"role":"user","content":"Hello"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(Json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pool.Key);
        return await pool.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }
}
