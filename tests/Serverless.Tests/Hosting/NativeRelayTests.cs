using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Storage;
using Serverless.Tests.EndToEnd;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Serverless.Tests.Webhooks.EndToEnd;
using Xunit;

namespace Serverless.Tests.Hosting;

/// <summary>
/// The app as deployed, a native executable (Native AOT), through the paths where such a build differs from the JIT
/// the other tests run: serialization, configuration binding, options validation, the tokenizer's vocabulary, the
/// table SDK's rows, every client API against every upstream format, each IM platform's webhook through the local
/// queues to its reply.
/// </summary>
[Collection(PublishedAppCollection.Name)]
public sealed class NativeRelayTests(NativeRelay relay) : IClassFixture<NativeRelay>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, Scenario, bool> Matrix() => TranslationMatrixTests.Matrix();

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task NativeRelay_ClientApiToUpstream_TranslatesBothWays(string clientName, string provider, Scenario scenario, bool stream)
    {
        using var http = relay.CreateClient();
        await MatrixCase.RunAsync(http, relay.Key, relay.Upstream, clientName, provider, scenario, stream, Ct);
    }

    [Fact]
    public async Task NativeRelay_KeyWithLimits_CountsTokensMetersAndRecordsUsage()
    {
        (await relay.Admin.PutAsJsonAsync("api/admin/pricing", new { prices = new[] { new { model = "gpt-test", input = 100, output = 100, cacheRead = 100 } } }, Ct)).EnsureSuccessStatusCode();
        var (id, key) = await AdminApi.CreateKeyAsync(relay.Admin, new { name = "limited", limits = new { rpm = 100, rpd = 10, tpm = 100_000, totalCostUsd = 1 } });
        using var http = relay.CreateClient();

        // The limiter reserves the prompt's tokens, counted with the o200k vocabulary, before relaying.
        using var request = new OpenAIChatDriver().Build(Scenario.Text, RelayWithUpstreams.ModelFor("openai"), false, key);
        using var answer = await http.SendAsync(request, Ct);
        var body = await answer.Content.ReadAsStringAsync(Ct);
        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{(int)answer.StatusCode}: {body}\n{relay.Output}");
        Assert.Equal("10", answer.Headers.GetValues("x-ratelimit-limit-requests").Single());
        Assert.Equal("9", answer.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.InRange(long.Parse(answer.Headers.GetValues("x-ratelimit-remaining-tokens").Single(), CultureInfo.InvariantCulture), 99_900, 99_999);

        // count_tokens for a model whose upstream cannot count: the tokenizer's estimate.
        var shortCount = await CountTokensAsync(http, key, "hello there");
        var longCount = await CountTokensAsync(http, key, string.Join(' ', Enumerable.Repeat("hello there", 50)));
        Assert.InRange(shortCount, 5, 20);
        Assert.InRange(longCount - shortCount, 95, 105); // "hello there" is two tokens in o200k_base

        // The usage row, written by the batch writer and read back through the table SDK.
        var rows = await Eventually.RowsAsync(relay.Table(RelayTables.Usage), id, 1, TimeSpan.FromSeconds(30));
        var row = Assert.Single(rows);
        Assert.Equal(200, row.GetInt32("Status"));
        Assert.Equal(21, row.GetInt64("InputTokens")); // 26 in all, 5 of them read from the cache
        Assert.Equal(5, row.GetInt64("CacheReadTokens"));
        Assert.Equal(7, row.GetInt64("OutputTokens"));
    }

    [Fact]
    public async Task NativeRelay_NoTraceExporter_NoActivityOrTraceContextSentUpstream()
    {
        // A process of its own: no other test's tracer listens. An activity started for nothing (ASP.NET Core's, for its
        // request log) would have HttpClient start one too and write its traceparent into the upstream request.
        using var http = relay.CreateClient();
        using var request = new OpenAIChatDriver().Build(Scenario.Text, RelayWithUpstreams.ModelFor("openai"), false, relay.Key);

        using var answer = await http.SendAsync(request, Ct);

        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync(Ct)}\n{relay.Output}");
        var seen = relay.Upstream.LastRequest;
        Assert.Equal(UpstreamDialect.OpenAIChat, seen.Dialect);
        Assert.DoesNotContain(seen.Headers.Keys, name => name.Equals("traceparent", StringComparison.OrdinalIgnoreCase));
        Assert.False(answer.Headers.Contains("x-trace-id"));
    }

    [Fact]
    public async Task NativeRelay_ModelsDocumentAndAdminUi_Served()
    {
        using var http = relay.CreateClient();
        using var models = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { { "Authorization", "Bearer " + relay.Key } } };
        using var modelsAnswer = await http.SendAsync(models, Ct);
        var ids = JsonDocument.Parse(await modelsAnswer.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("data").EnumerateArray()
            .Select(m => m.GetProperty("id").GetString()).ToArray();
        Assert.Contains(RelayWithUpstreams.ModelFor("gemini"), ids);

        using var document = await relay.Admin.GetAsync("api/admin/openapi.json", Ct);
        var root = JsonDocument.Parse(await document.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.StartsWith("3.1", root.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.True(root.GetProperty("paths").EnumerateObject().Count() > 10);

        using var ui = await http.GetAsync("ui/", Ct);
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Equal("text/html", ui.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [MemberData(nameof(ImPlatformFlowTests.Platforms), MemberType = typeof(ImPlatformFlowTests))]
    public async Task NativeRelay_ImWebhook_ReplyDeliveredThroughTheQueues(string platform)
    {
        await using var im = await ImScenario.StartAsync(relay.BaseUri, NativeRelay.AdminKey, TimeProvider.System);
        var channel = await im.CreateChannelAsync(ImDriver.For(platform));
        var message = new ImText(1, Chat: 7, User: 42, "hello there", Group: true);

        var answer = await im.PostAsync(channel, message);

        Assert.Equal(200, answer.Status);
        var reply = Assert.Single(await im.RepliesAsync(channel.Driver, 1));
        Assert.Equal("You said: hello there", channel.Driver.TextOf(reply));
        channel.Driver.AssertAnswers(reply, message);
        await im.PendingStateAsync(channel, message, "delivered");
    }

    private static async Task<int> CountTokensAsync(HttpClient http, string key, string text)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages/count_tokens")
        {
            Headers = { { "x-api-key", key }, { "anthropic-version", "2023-06-01" } },
            Content = new StringContent($$"""{"model":"m-openai","system":"Be brief","messages":[{"role":"user","content":"{{text}}"}]}""", Encoding.UTF8, "application/json"),
        };
        using var answer = await http.SendAsync(request, Ct);
        var body = await answer.Content.ReadAsStringAsync(Ct);
        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{(int)answer.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("input_tokens").GetInt32();
    }
}
