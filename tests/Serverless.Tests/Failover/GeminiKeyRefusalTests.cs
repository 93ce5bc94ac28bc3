using System.Text.Json;
using Serverless.Tests.EndToEnd;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Failover;

/// <summary>
/// Gemini refuses a wrong, expired or deleted API key with 400 <c>API_KEY_INVALID</c>, not 401: the relay must take it
/// as the account's refusal (disable it, try the next account), and still relay any other 400 as the client's own error.
/// </summary>
public sealed class GeminiKeyRefusalTests(AzuriteFixture azurite)
{
    private static readonly Dictionary<string, object?>[] TwoTiers = [PoolRelay.Account(priority: 10), PoolRelay.Account(priority: 0)];

    private static readonly ClientDriver[] Clients = [new GeminiDriver(), new OpenAIChatDriver()];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(int Status, string Body)> SendAsync(PoolRelay pool, string client, bool stream = false)
    {
        using var request = Clients.Single(c => c.Name == client).Build(Scenario.Text, "m", stream, pool.Key);
        using var response = await pool.Client.SendAsync(request, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));
    }

    [Theory]
    [InlineData("gemini", false)]
    [InlineData("gemini", true)]
    [InlineData("openai-chat", false)]
    public async Task Relay_GeminiKeyInvalid400_DisablesTheAccountAndFailsOver(string client, bool stream)
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers, provider: "gemini");
        pool.Upstreams[0].ApiKey = "deleted-in-ai-studio";

        var first = await SendAsync(pool, client, stream);
        var second = await SendAsync(pool, client, stream);

        Assert.True(first.Status == 200, first.Body);
        Assert.True(second.Status == 200, second.Body);
        Assert.Equal(1, pool.Hits(0)); // disabled, as a 401 would: the second request went straight to the next account
        Assert.Equal(2, pool.Hits(1));
        var health = await pool.HealthAsync(0);
        Assert.Equal("disabled", health.GetProperty("status").GetString());
        Assert.Equal("upstream answered 400", health.GetProperty("lastError").GetString());
        Assert.Equal("available", (await pool.HealthAsync(1)).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("gemini", "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n", "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n")]
    [InlineData("openai-chat", "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n", "Upstream error from gemini: * GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n")]
    // The reason quoted in a message (Google quotes invalid values) is the request's, not the key's.
    [InlineData("gemini", "Invalid value at 'contents[0].parts[0].text' (TYPE_STRING), \"API_KEY_INVALID\"", "Invalid value at 'contents[0].parts[0].text' (TYPE_STRING), \"API_KEY_INVALID\"")]
    public async Task Relay_GeminiPlain400_RelayedAsTheClientsErrorWithoutFailoverOrMark(string client, string upstreamMessage, string clientMessage)
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers, provider: "gemini");
        pool.Upstreams[0].Script = new UpstreamScript { FailStatus = 400, FailMessage = upstreamMessage };

        var (status, body) = await SendAsync(pool, client);

        Assert.Equal(400, status);
        Assert.Equal(clientMessage, ClientError.Read(client, status, body).Message);
        Assert.Equal([1, 0], [pool.Hits(0), pool.Hits(1)]);
        var health = await pool.HealthAsync(0);
        Assert.Equal("available", health.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, health.GetProperty("lastError").ValueKind);
    }

    [Fact]
    public async Task Relay_EveryGeminiKeyInvalid_ClientGets502WithoutGooglesText()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoTiers, provider: "gemini");
        pool.Upstreams[0].ApiKey = "deleted-in-ai-studio";
        pool.Upstreams[1].ApiKey = "expired";

        var (status, body) = await SendAsync(pool, "gemini");

        var error = ClientError.Read("gemini", status, body);
        Assert.Equal(502, status);
        Assert.Equal("The upstream account 'account 1' was refused by gemini (400).", error.Message);
        Assert.DoesNotContain("API key", body, StringComparison.Ordinal);
        Assert.Equal([1, 1], [pool.Hits(0), pool.Hits(1)]);
    }
}
