using System.Diagnostics;
using System.Text;
using Azure.Data.Tables;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>Every request a key makes leaves exactly one usage row, failed and cut-off ones included.</summary>
[Collection(ScriptedCollection.Name)]
public sealed class UsageRowTests
{
    private readonly RelayWithUpstreams _relay;

    public UsageRowTests(RelayWithUpstreams relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption option = HttpCompletionOption.ResponseContentRead)
    {
        using var http = _relay.Host.CreateClient();
        return await http.SendAsync(request, option, TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Requests_SuccessStreamAndFailures_OneRowEachWithTokensAndTimings()
    {
        var (keyId, key) = await _relay.Host.CreateKeyWithIdAsync(new { name = "usage", owner = "usage-owner" });

        (await SendAsync(new AnthropicDriver().Build(Scenario.Text, "m-anthropic", false, key))).EnsureSuccessStatusCode();
        using (var stream = await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "m-gemini", true, key)))
        {
            stream.EnsureSuccessStatusCode();
        }

        Assert.Equal(404, (int)(await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "no-such-model", false, key))).StatusCode);
        var badJson = new GeminiDriver().Build(Scenario.Text, "m-openai", false, key);
        badJson.Content = new StringContent("{oops", Encoding.UTF8, "application/json");
        Assert.Equal(400, (int)(await SendAsync(badJson)).StatusCode);

        var rows = await _relay.Host.UsageRowsAsync(keyId, 4, Timeout);

        Assert.Equal(4, rows.Count);
        var answer = rows[0];
        Assert.Equal(200, answer.GetInt32("Status"));
        Assert.Equal("anthropic", answer.GetString("ClientApi"));
        Assert.Equal("m-anthropic", answer.GetString("RequestedModel"));
        Assert.Equal("claude-test", answer.GetString("UpstreamModel"));
        Assert.Equal("anthropic", answer.GetString("Provider"));
        Assert.Equal("usage-owner", answer.GetString("Owner"));
        Assert.False(string.IsNullOrEmpty(answer.GetString("AccountId")));
        Assert.False(answer.GetBoolean("Stream"));
        AssertTokens(answer, input: 21, cacheRead: 5, cacheWrite: 3, output: 7);
        Assert.True(answer.GetDouble("LatencyMs") > 0);
        Assert.True(answer.GetDouble("TimeToFirstByteMs") <= answer.GetDouble("LatencyMs"));

        var streamed = rows[1];
        Assert.Equal(200, streamed.GetInt32("Status"));
        Assert.True(streamed.GetBoolean("Stream"));
        Assert.Equal("openai-chat", streamed.GetString("ClientApi"));
        Assert.Equal("gemini", streamed.GetString("Provider"));
        AssertTokens(streamed, input: 21, cacheRead: 5, cacheWrite: 0, output: 7);

        Assert.Equal(404, rows[2].GetInt32("Status"));
        Assert.Equal("no-such-model", rows[2].GetString("RequestedModel"));
        Assert.Equal("The model 'no-such-model' does not exist or is not served by this relay.", rows[2].GetString("Error"));
        AssertTokens(rows[2], 0, 0, 0, 0);

        Assert.Equal(400, rows[3].GetInt32("Status"));
        Assert.Equal("gemini", rows[3].GetString("ClientApi"));
        Assert.StartsWith("Request body is not valid JSON", rows[3].GetString("Error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientDisconnects_MidStream_UpstreamCancelledAndSeenUsageMetered()
    {
        var (keyId, key) = await _relay.Host.CreateKeyWithIdAsync(new { name = "disconnect" });
        var upstreamCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _relay.Upstream.Script = new UpstreamScript
        {
            ReplyWords = 40,
            BeforeContentEvent = async (sent, token) =>
            {
                if (sent < 2)
                {
                    return;
                }

                // Word three waits for the relay to hang up; if it never does, the stream goes on after the timeout.
                try
                {
                    await Task.Delay(Timeout, token);
                }
                catch (OperationCanceledException)
                {
                    upstreamCancelled.TrySetResult();
                    throw;
                }
            },
        };
        try
        {
            using (var response = await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "m-anthropic", true, key), HttpCompletionOption.ResponseHeadersRead))
            {
                await foreach (var arrived in SseArrivals.ReadAsync(response, Stopwatch.StartNew(), TestContext.Current.CancellationToken))
                {
                    if (arrived.Data.Contains("w2", StringComparison.Ordinal))
                    {
                        break; // the client walks away after two words of forty
                    }
                }
            }

            // The relay stopped reading when the client left: it hung up on the upstream, which was waiting.
            await upstreamCancelled.Task.WaitAsync(Timeout, TestContext.Current.CancellationToken);
            var row = Assert.Single(await _relay.Host.UsageRowsAsync(keyId, 1, Timeout));

            Assert.Equal(499, row.GetInt32("Status"));
            // Anthropic reports input and cache tokens at the start; they were seen, so they are billed.
            Assert.Equal(21, row.GetInt64("InputTokens"));
            Assert.Equal(5, row.GetInt64("CacheReadTokens"));
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }

    /// <summary>
    /// Issue 11, "memory is bounded by configuration": a same-format answer past the relay's 64 KB head goes to the
    /// client as it arrives and is metered from a skeleton of it (its long strings left out), in every client API.
    /// </summary>
    [Theory]
    [InlineData("openai-chat", "openai")]
    [InlineData("openai-responses", "openai")]
    [InlineData("anthropic", "anthropic")]
    [InlineData("gemini", "gemini")]
    public async Task LongSameFormatAnswer_RelayedWholeAndMetered(string clientName, string provider)
    {
        const int Words = 30_000; // about 190 KB of answer text, in one string
        var (keyId, key) = await _relay.Host.CreateKeyWithIdAsync(new { name = "long " + clientName });
        var client = MatrixCase.Clients.Single(c => c.Name == clientName);
        _relay.Upstream.Script = new UpstreamScript { ReplyWords = Words };
        try
        {
            using var response = await SendAsync(client.Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), false, key));
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

            Assert.Equal(200, (int)response.StatusCode);
            Assert.True(body.Length > 64 * 1024, $"the answer was {body.Length} bytes");
            Assert.EndsWith(" w" + Words, client.Read(body, stream: false).Text, StringComparison.Ordinal);
            var row = Assert.Single(await _relay.Host.UsageRowsAsync(keyId, 1, Timeout));
            Assert.Equal(200, row.GetInt32("Status"));
            Assert.Equal(provider, row.GetString("Provider"));
            AssertTokens(row, input: 21, cacheRead: 5, cacheWrite: provider == "anthropic" ? 3 : 0, output: 7);
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }

    private static void AssertTokens(TableEntity row, long input, long cacheRead, long cacheWrite, long output)
    {
        Assert.Equal(input, row.GetInt64("InputTokens"));
        Assert.Equal(cacheRead, row.GetInt64("CacheReadTokens"));
        Assert.Equal(cacheWrite, row.GetInt64("CacheWriteTokens"));
        Assert.Equal(output, row.GetInt64("OutputTokens"));
    }
}
