using System.Net.Http.Headers;
using System.Text;
using Serverless.Tests.EndToEnd;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Failover;

/// <summary>
/// A pool where one account speaks the client's format and another does not: a failover may have to translate, so the
/// relay reads the whole request before it tries either, and a body it cannot read is refused rather than passed to
/// the first account and found unreadable at the second.
/// </summary>
public sealed class MixedFormatPoolTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Account 0 speaks OpenAI, account 1 Anthropic; both serve <c>m</c>.</summary>
    private static async Task<PoolRelay> StartAsync(AzuriteFixture azurite, int anthropicPriority = 0)
    {
        var pool = await PoolRelay.StartAsync(azurite, [PoolRelay.Account(priority: 10), PoolRelay.Account(priority: anthropicPriority)]);
        await pool.Host.Admin.PatchAsync(
            $"api/admin/accounts/{pool.AccountIds[1]}",
            new StringContent($$"""{"provider":"anthropic","baseUrl":"{{pool.Upstreams[1].AnthropicBaseUrl}}"}""", Encoding.UTF8, "application/json"),
            Ct);
        return pool;
    }

    private static async Task<(int Status, string Body)> PostAsync(PoolRelay pool, string body, string path = "v1/chat/completions")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pool.Key);
        using var response = await pool.Client.SendAsync(request, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Relay_BodyOnlyTheTranslatingAccountCouldNotRead_Refused400BeforeEitherAccount()
    {
        await using var pool = await StartAsync(azurite);

        var (status, body) = await PostAsync(pool, """{"model":"m","messages":[{"role":"narrator","content":"hi"}],"user":"u-1"}""");

        Assert.Equal(400, status);
        Assert.StartsWith("messages[0].role", ClientError.Read("openai-chat", status, body).Message, StringComparison.Ordinal);
        Assert.Equal(0, pool.Hits(0) + pool.Hits(1));
    }

    [Fact]
    public async Task Relay_FirstAccountFails_SecondTranslatesTheSameRequest()
    {
        await using var pool = await StartAsync(azurite);
        pool.Upstreams[0].Script = new Upstreams.UpstreamScript { FailStatus = 503 };

        var (status, body) = await PostAsync(pool, """{"model":"m","messages":[{"role":"user","content":"hi"}],"user":"u-2"}""");

        Assert.True(status == 200, body);
        Assert.Equal(1, pool.Hits(0));
        var translated = Assert.Single(pool.Upstreams[1].Requests);
        Assert.Equal("/v1/messages", translated.PathAndQuery);
        Assert.True(translated.Json.TryGetProperty("max_tokens", out _), "an Anthropic body carries max_tokens; the client's did not");
        Assert.Contains("\"hi\"", Encoding.UTF8.GetString(translated.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Relay_PreviousResponseId_SkipsTheTranslatingAccountForTheOneThatStoresResponses()
    {
        // The Anthropic account comes first in the plan: only the stored response keeps the request off it.
        await using var pool = await StartAsync(azurite, anthropicPriority: 20);
        var body = PreviousResponseTests.FollowUp("m");

        var (status, answer) = await PostAsync(pool, body, "v1/responses");

        Assert.True(status == 200, answer);
        Assert.Equal(0, pool.Hits(1));
        var forwarded = Assert.Single(pool.Upstreams[0].Requests);
        Assert.Equal("/v1/responses", forwarded.PathAndQuery);
        Assert.Equal(body, Encoding.UTF8.GetString(forwarded.Body));
    }
}
