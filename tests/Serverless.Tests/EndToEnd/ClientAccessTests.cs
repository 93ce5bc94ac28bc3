using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>Where keys are accepted, what a key may see and call, model lists in each SDK's shape, and token counting.</summary>
[Collection(MatrixCollection.Name)]
public sealed class ClientAccessTests(RelayWithUpstreams relay)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpRequestMessage request)
    {
        using var http = relay.Host.CreateClient();
        using var response = await http.SendAsync(request, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Theory]
    [InlineData("Authorization")]
    [InlineData("x-api-key")]
    [InlineData("x-goog-api-key")]
    [InlineData("api-key")]
    [InlineData("query")]
    public async Task ModelList_KeyWhereverTheSdkPutsIt_Accepted(string placement)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, placement == "query" ? "v1/models?key=" + relay.Key : "v1/models");
        switch (placement)
        {
            case "Authorization": request.Headers.Authorization = new("Bearer", relay.Key); break;
            case "query": break;
            default: request.Headers.Add(placement, relay.Key); break;
        }

        var (status, body) = await SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, status);
        if (placement is "x-goog-api-key" or "query")
        {
            // A Gemini key placement on /v1/models is a Google GenAI SDK: it gets Gemini's list shape (issue 8).
            Assert.Equal(JsonValueKind.Array, body.GetProperty("models").ValueKind);
        }
        else
        {
            Assert.Equal("list", body.GetProperty("object").GetString());
        }
    }

    [Fact]
    public async Task ModelLists_RestrictedKey_ListOnlyAllowedModelsInEachShape()
    {
        var key = await relay.Host.CreateKeyAsync(new { name = "restricted", models = new[] { "m-open*", "exact-gemini" } });
        var expected = new[] { "exact-gemini", "m-openai", "m-openai-compatible", "m-openrouter" };

        using var openAI = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { Authorization = new("Bearer", key) } };
        var (_, openAIList) = await SendAsync(openAI);
        Assert.Equal(expected, openAIList.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.All(openAIList.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("object").GetString()));

        using var anthropic = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { { "x-api-key", key }, { "anthropic-version", "2023-06-01" } } };
        var (_, anthropicList) = await SendAsync(anthropic);
        Assert.Equal(expected, anthropicList.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal("model", anthropicList.GetProperty("data")[0].GetProperty("type").GetString());
        Assert.False(anthropicList.GetProperty("has_more").GetBoolean());
        Assert.Equal("m-openrouter", anthropicList.GetProperty("last_id").GetString());

        using var gemini = new HttpRequestMessage(HttpMethod.Get, "v1beta/models") { Headers = { { "x-goog-api-key", key } } };
        var (_, geminiList) = await SendAsync(gemini);
        Assert.Equal(expected.Select(m => "models/" + m), geminiList.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        Assert.Contains("streamGenerateContent", geminiList.GetProperty("models")[0].GetProperty("supportedGenerationMethods").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public async Task ModelLookup_ModelOutsideTheKey_404InOpenAIShape()
    {
        var key = await relay.Host.CreateKeyAsync(new { name = "narrow", models = new[] { "m-openai" } });

        var (allowedStatus, allowed) = await SendAsync(new HttpRequestMessage(HttpMethod.Get, "v1/models/m-openai") { Headers = { Authorization = new("Bearer", key) } });
        var (hiddenStatus, hidden) = await SendAsync(new HttpRequestMessage(HttpMethod.Get, "v1/models/m-anthropic") { Headers = { Authorization = new("Bearer", key) } });

        Assert.Equal(HttpStatusCode.OK, allowedStatus);
        Assert.Equal("m-openai", allowed.GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.NotFound, hiddenStatus);
        Assert.Equal("model_not_found", hidden.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Chat_ModelOutsideTheKey_403NamingTheModel()
    {
        var key = await relay.Host.CreateKeyAsync(new { name = "narrow-chat", models = new[] { "m-openai" } });

        var (status, body) = await SendAsync(new AnthropicDriver().Build(Scenario.Text, "m-anthropic", false, key));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("permission_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("This API key may not use model 'm-anthropic'.", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task DisabledThenDeletedKey_RefusedAtOnce()
    {
        var (id, key) = await relay.Host.CreateKeyWithIdAsync(new { name = "short-lived" });
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "m-openai", false, key))).Status);

        (await relay.Host.Admin.PatchAsJsonAsync($"api/admin/keys/{id}", new { enabled = false }, Ct)).EnsureSuccessStatusCode();
        var (disabledStatus, disabled) = await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "m-openai", false, key));
        (await relay.Host.Admin.DeleteAsync($"api/admin/keys/{id}", Ct)).EnsureSuccessStatusCode();
        var (deletedStatus, _) = await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "m-openai", false, key));

        Assert.Equal(HttpStatusCode.Forbidden, disabledStatus);
        Assert.Equal("This API key is disabled.", disabled.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, deletedStatus);
    }

    [Fact]
    public async Task AnthropicCountTokens_AnthropicUpstream_ForwardedForAnExactCount()
    {
        using var request = new AnthropicDriver().Build(Scenario.Text, "m-anthropic", false, relay.Key);
        request.RequestUri = new Uri("v1/messages/count_tokens", UriKind.Relative);
        request.Content = new StringContent("""{"model":"m-anthropic","messages":[{"role":"user","content":"hello there"}]}""", Encoding.UTF8, "application/json");

        var (status, body) = await SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(42, body.GetProperty("input_tokens").GetInt32());
        Assert.Equal(UpstreamDialect.AnthropicCountTokens, relay.Upstream.Requests.Last(r => r.Dialect == UpstreamDialect.AnthropicCountTokens).Dialect);
        Assert.Equal("claude-test", relay.Upstream.Requests.Last(r => r.Dialect == UpstreamDialect.AnthropicCountTokens).Json.GetProperty("model").GetString());
    }

    [Fact]
    public async Task AnthropicCountTokens_OtherUpstream_EstimatedWithTokenizer()
    {
        static HttpRequestMessage Count(string key, string text) => new(HttpMethod.Post, "v1/messages/count_tokens")
        {
            Headers = { { "x-api-key", key }, { "anthropic-version", "2023-06-01" } },
            Content = new StringContent($$"""{"model":"m-openai","system":"Be brief","messages":[{"role":"user","content":"{{text}}"}]}""", Encoding.UTF8, "application/json"),
        };

        var (status, shortBody) = await SendAsync(Count(relay.Key, "hello there"));
        var (_, longBody) = await SendAsync(Count(relay.Key, string.Join(' ', Enumerable.Repeat("hello there", 50))));

        Assert.Equal(HttpStatusCode.OK, status);
        var shortCount = shortBody.GetProperty("input_tokens").GetInt32();
        var longCount = longBody.GetProperty("input_tokens").GetInt32();
        Assert.InRange(shortCount, 5, 20);
        // "hello there" is two tokens in o200k_base: fifty of them add about a hundred.
        Assert.InRange(longCount - shortCount, 95, 105);
    }

    [Theory]
    [InlineData("m-gemini", 42)]
    [InlineData("m-anthropic", -1)]
    public async Task GeminiCountTokens_ForwardedToGeminiElseEstimated(string model, int exact)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1beta/models/{model}:countTokens")
        {
            Headers = { { "x-goog-api-key", relay.Key } },
            Content = new StringContent("""{"contents":[{"role":"user","parts":[{"text":"hello there"}]}]}""", Encoding.UTF8, "application/json"),
        };

        var (status, body) = await SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, status);
        var total = body.GetProperty("totalTokens").GetInt32();
        if (exact > 0)
        {
            Assert.Equal(exact, total);
        }
        else
        {
            Assert.InRange(total, 3, 15);
        }
    }

    [Theory]
    [InlineData("gemini")]
    [InlineData("openai")]
    [InlineData("anthropic")]
    public async Task GeminiStream_WithoutAltSse_StreamsOneJsonArray(string provider)
    {
        using var request = new GeminiDriver().Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), stream: true, relay.Key);
        request.RequestUri = new Uri($"v1beta/models/{RelayWithUpstreams.ModelFor(provider)}:streamGenerateContent", UriKind.Relative);
        using var http = relay.Host.CreateClient();

        using var response = await http.SendAsync(request, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var chunks = JsonDocument.Parse(body).RootElement.EnumerateArray().ToArray();
        Assert.True(chunks.Length > 2, body);
        var text = string.Concat(chunks.SelectMany(c => c.TryGetProperty("candidates", out var candidates)
            ? candidates[0].GetProperty("content").GetProperty("parts").EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : "")
            : []));
        Assert.Equal("[sys:Be brief] You said: hello there", text);
        Assert.Equal(7, chunks[^1].GetProperty("usageMetadata").GetProperty("candidatesTokenCount").GetInt32());
    }
}
