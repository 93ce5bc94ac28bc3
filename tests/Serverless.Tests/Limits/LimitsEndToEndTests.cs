using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIResponses;
using Serverless.Relay.Limits;
using Serverless.Relay.Storage;
using Serverless.Tests.Formats.OpenAIChat;
using Serverless.Tests.EndToEnd;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Limits;

/// <summary>Limits through the real request path: refusals in each client API's shape, headers, slots, budgets.</summary>
public sealed class LimitsEndToEndTests(LimitedRelay relay) : IClassFixture<LimitedRelay>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static ClientDriver Driver(string name) => name switch
    {
        "openai-chat" => new OpenAIChatDriver(),
        "openai-responses" => new ResponsesDriver(),
        "anthropic" => new AnthropicDriver(),
        _ => new GeminiDriver(),
    };

    private static string ProviderOf(string client) => client switch
    {
        "anthropic" => "anthropic",
        "gemini" => "gemini",
        _ => "openai",
    };

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(string client, string key, bool stream = false)
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = relay.Host.CreateClient();
        using var request = Driver(client).Build(Scenario.Text, RelayWithUpstreams.ModelFor(ProviderOf(client)), stream, key);
        var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
        var body = await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct);
        return (response.StatusCode, body, response);
    }

    [Theory]
    [InlineData("openai-chat", """{"error":{"message":"This API key has reached its rpd limit of 1. Try again in""", "x-ratelimit-remaining-requests")]
    [InlineData("openai-responses", """{"error":{"message":"This API key has reached its rpd limit of 1. Try again in""", "x-ratelimit-remaining-requests")]
    [InlineData("anthropic", """{"type":"error","error":{"type":"rate_limit_error","message":"This API key has reached its rpd limit of 1. Try again in""", "anthropic-ratelimit-requests-remaining")]
    [InlineData("gemini", """{"error":{"code":429,"message":"This API key has reached its rpd limit of 1. Try again in""", null)]
    public async Task Relay_LimitReached_429InTheClientsShapeWithRetryAfter(string client, string bodyStart, string? remainingHeader)
    {
        var (key, _) = await relay.CreateKeyAsync(new { rpd = 1 });

        var first = await SendAsync(client, key);
        var second = await SendAsync(client, key);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.Status);
        Assert.StartsWith(bodyStart, second.Body, StringComparison.Ordinal);
        var retryAfter = second.Response.Headers.RetryAfter?.Delta;
        Assert.InRange(retryAfter!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        if (remainingHeader is null)
        {
            Assert.DoesNotContain(first.Response.Headers, h => h.Key.Contains("ratelimit", StringComparison.OrdinalIgnoreCase));
        }
        else
        {
            Assert.Equal("0", first.Response.Headers.GetValues(remainingHeader).Single());
            Assert.Equal("0", second.Response.Headers.GetValues(remainingHeader).Single());
        }

        if (client == "gemini")
        {
            Assert.Contains("\"status\":\"RESOURCE_EXHAUSTED\"", second.Body, StringComparison.Ordinal);

            // Google's clients read the wait from a RetryInfo detail, which says what the header says.
            var detail = Assert.Single(JsonDocument.Parse(second.Body).RootElement.GetProperty("error").GetProperty("details").EnumerateArray());
            Assert.Equal("type.googleapis.com/google.rpc.RetryInfo", detail.GetProperty("@type").GetString());
            Assert.Equal(((long)retryAfter.Value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s", detail.GetProperty("retryDelay").GetString());
        }
        else if (client != "anthropic")
        {
            Assert.Contains("\"type\":\"rate_limit_error\",\"param\":null,\"code\":\"rate_limit_exceeded\"", second.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Relay_Success_OpenAIHeadersForRequestsAndTokens()
    {
        var (key, _) = await relay.CreateKeyAsync(new { rpm = 100, rpd = 10, tpm = 100_000 });

        var answer = await SendAsync("openai-chat", key);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var headers = answer.Response.Headers;
        Assert.Equal("10", headers.GetValues("x-ratelimit-limit-requests").Single()); // the tighter of the two windows
        Assert.Equal("9", headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Matches("^([0-9]+h)?([0-9]+m)?[0-9]+s$", headers.GetValues("x-ratelimit-reset-requests").Single());
        Assert.Equal("100000", headers.GetValues("x-ratelimit-limit-tokens").Single());
        Assert.InRange(long.Parse(headers.GetValues("x-ratelimit-remaining-tokens").Single(), System.Globalization.CultureInfo.InvariantCulture), 99_900, 99_999);
    }

    [Theory]
    [InlineData("openai-chat")]
    [InlineData("anthropic")]
    public async Task Relay_TokenLimitOnASameFormatRelay_ReservesTheCanonicalRequestsCount(string client)
    {
        // Read in place (IChatFormat.TryTallyPrompt), the prompt must reserve what the canonical request would count.
        var ct = TestContext.Current.CancellationToken;
        var (key, _) = await relay.CreateKeyAsync(new { tpm = 100_000 });
        var (json, canonical) = Conversation(client);

        using var response = await PostAsync(client, key, json, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var remaining = client == "anthropic" ? "anthropic-ratelimit-tokens-remaining" : "x-ratelimit-remaining-tokens";
        Assert.Equal((100_000 - canonical).ToString(CultureInfo.InvariantCulture), response.Headers.GetValues(remaining).Single());
    }

    [Theory]
    [InlineData("openai-chat")]
    [InlineData("openai-responses")]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    public async Task Relay_PromptOverATokenLimit_RefusedNamingTheCanonicalRequestsCount(string client)
    {
        // Every client API counts in place on a same-format relay; the refusal names the estimate, whatever the headers.
        var ct = TestContext.Current.CancellationToken;
        var (key, _) = await relay.CreateKeyAsync(new { tpm = 100 });
        var (json, canonical) = Conversation(client);
        var calls = relay.Upstream.Requests.Count;

        using var response = await PostAsync(client, key, json, ct);
        var body = await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Contains($"This request's ~{canonical.ToString(CultureInfo.InvariantCulture)} input tokens exceed this API key's tpm limit of 100", body, StringComparison.Ordinal);
        Assert.Equal(calls, relay.Upstream.Requests.Count);
    }

    /// <summary>One conversation in the client's format (system prompt, text and an image, two tool calls and their results, two tools) and its canonical request's estimate.</summary>
    private static (string Json, int Canonical) Conversation(string client)
    {
        var (format, json) = client switch
        {
            "anthropic" => ((IChatFormat)AnthropicFormat.Instance, AnthropicConversation),
            "openai-responses" => (OpenAIResponsesFormat.Instance, ResponsesConversation),
            "gemini" => (GeminiFormat.Instance, GeminiConversation),
            _ => (OpenAIChatTestSupport.Format, OpenAIChatConversation),
        };
        json = json.Replace("MODEL", RelayWithUpstreams.ModelFor(ProviderOf(client)), StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json);
        var read = format.ReadRequest(document.RootElement, modelFromPath: "models/" + RelayWithUpstreams.ModelFor(ProviderOf(client)), stream: false);
        var canonical = new TokenEstimator().Count(read.Value!);
        Assert.InRange(canonical, 1_600, 2_000); // the image alone is 1,600
        return (json, canonical);
    }

    private const string OpenAIChatConversation = """
        {"model":"MODEL","messages":[
          {"role":"system","content":"You are terse.\nAnswer in one line."},
          {"role":"user","content":[{"type":"text","text":"weather in Paris and the time?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},
          {"role":"assistant","content":null,"tool_calls":[
            {"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"c2","type":"function","function":{"name":"get_time","arguments":""}}]},
          {"role":"tool","tool_call_id":"c1","content":"18C, caf\u00e9 weather"},
          {"role":"tool","tool_call_id":"c2","content":"12:00"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
                  {"type":"function","function":{"name":"get_time"}}]}
        """;

    private const string AnthropicConversation = """
        {"model":"MODEL","max_tokens":100,"system":[{"type":"text","text":"You are terse.\nAnswer in one line."}],"messages":[
          {"role":"user","content":[{"type":"text","text":"weather in Paris and the time?"},{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]},
          {"role":"assistant","content":[{"type":"thinking","thinking":"Two tools.","signature":"s"},
            {"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Paris"}},
            {"type":"tool_use","id":"t2","name":"get_time","input":{}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"18C, caf\u00e9 weather"},
            {"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"12:00"}]},{"type":"text","text":"so?"}]}],
         "tools":[{"name":"get_weather","description":"Weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},
                  {"name":"get_time","input_schema":{"type":"object","properties":{}}}]}
        """;

    /// <remarks>
    /// A text the relay cannot read (a lone surrogate) is refused when a translation must read it. To a same-format
    /// upstream it goes as it came, as for a key without token limits (PassthroughTests).
    /// </remarks>
    [Fact]
    public async Task Relay_TokenLimitAndUnreadableText_RefusedInOpenAIShapeBeforeATranslation()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, _) = await relay.CreateKeyAsync(new { tpm = 100_000 });
        var calls = relay.Upstream.Requests.Count;
        var json = $$"""{"model":"{{RelayWithUpstreams.ModelFor("anthropic")}}","messages":[{"role":"user","content":"lone \ud800 surrogate"}]}""";

        using var response = await PostAsync("openai-chat", key, json, ct);
        var body = await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"param\":\"messages\"", body, StringComparison.Ordinal);
        Assert.Contains("messages[0].content", body, StringComparison.Ordinal);
        Assert.Equal(calls, relay.Upstream.Requests.Count);
    }

    private const string ResponsesConversation = """
        {"model":"MODEL","instructions":"You are terse.\nAnswer in one line.","input":[
          {"role":"user","content":[{"type":"input_text","text":"weather in Paris and the time?"},{"type":"input_image","image_url":"https://example.com/a.png"}]},
          {"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
          {"type":"function_call","call_id":"c2","name":"get_time","arguments":"{}"},
          {"type":"function_call_output","call_id":"c1","output":"18C, caf\u00e9 weather"},
          {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"12:00"}]}],
         "tools":[{"type":"function","name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}},
                  {"type":"function","name":"get_time"},{"type":"web_search"}]}
        """;

    private const string GeminiConversation = """
        {"systemInstruction":{"parts":[{"text":"You are terse.\nAnswer in one line."}]},"contents":[
          {"role":"user","parts":[{"text":"weather in Paris and the time?"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]},
          {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"get_time"}}]},
          {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"18C, caf\u00e9 weather"}}},{"functionResponse":{"name":"get_time","response":{"time":"12:00"}}}]}],
         "tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather for a city","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}}}},{"name":"get_time"}]}]}
        """;

    private async Task<HttpResponseMessage> PostAsync(string client, string key, string json, CancellationToken ct)
    {
        using var http = relay.Host.CreateClient();
        using var request = ClientRequest.Post(client, RelayWithUpstreams.ModelFor(ProviderOf(client)), key, json);
        return await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
    }

    [Fact]
    public async Task Relay_Success_AnthropicHeadersWithRfc3339Reset()
    {
        var (key, _) = await relay.CreateKeyAsync(new { rpm = 50, tpm = 10_000, dailyInputTokens = 5_000 });

        var answer = await SendAsync("anthropic", key);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var headers = answer.Response.Headers;
        Assert.Equal("50", headers.GetValues("anthropic-ratelimit-requests-limit").Single());
        Assert.Equal("49", headers.GetValues("anthropic-ratelimit-requests-remaining").Single());
        var reset = DateTimeOffset.Parse(headers.GetValues("anthropic-ratelimit-requests-reset").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(reset - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(61));
        Assert.Equal("10000", headers.GetValues("anthropic-ratelimit-tokens-limit").Single());
        Assert.Equal("5000", headers.GetValues("anthropic-ratelimit-input-tokens-limit").Single());
    }

    [Theory]
    [InlineData("openai-chat", 4)]   // 3,300 µ$ a request: admitted at 0, 3,300, 6,600, 9,900; refused at 13,200
    [InlineData("anthropic", 3)]     // 3,600 µ$ a request: admitted at 0, 3,600, 7,200; refused at 10,800
    [InlineData("gemini", 4)]
    public async Task Relay_CostBudget_KeyThatSpendsOnlyThroughStreamsIsStopped(string client, int admitted)
    {
        var (key, id) = await relay.CreateKeyAsync(new { totalCostUsd = 0.01 });
        var statuses = new List<HttpStatusCode>();

        for (var i = 0; i < admitted + 2; i++)
        {
            var answer = await SendAsync(client, key, stream: true);
            statuses.Add(answer.Status);
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, admitted), HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        var refused = await SendAsync(client, key, stream: true);
        Assert.Null(refused.Response.Headers.RetryAfter);
        Assert.Contains("has spent its totalCostUsd budget of 0.01 USD.", refused.Body, StringComparison.Ordinal);

        using var quota = await relay.Host.Admin.GetAsync($"api/admin/keys/{id}/quota", TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, quota.StatusCode);
    }

    [Fact]
    public async Task Relay_MaxConcurrent_SlotReleasedAtStreamEndFailureAndDisconnect()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, _) = await relay.CreateKeyAsync(new { maxConcurrency = 1 });
        relay.Upstream.Script = new UpstreamScript { EventDelay = TimeSpan.FromMilliseconds(300) };
        try
        {
            using var http = relay.Host.CreateClient();

            // A stream in flight holds the one slot.
            using (var open = await OpenStreamAsync(http, key))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, (await SendAsync("openai-chat", key)).Status);
                await open.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct); // to its end
            }

            // Stream end released it.
            Assert.Equal(HttpStatusCode.OK, (await SendAsync("openai-chat", key)).Status);

            // Client disconnect releases it.
            var dropped = await OpenStreamAsync(http, key);
            dropped.Dispose();
            await EventuallyOkAsync(key);

            // An upstream failure releases it.
            relay.Upstream.Script = new UpstreamScript { FailStatus = 500, FailTimes = 1 };
            Assert.Equal(HttpStatusCode.InternalServerError, (await SendAsync("anthropic", key)).Status); // same format: relayed as the upstream said
            Assert.Equal(HttpStatusCode.OK, (await SendAsync("openai-chat", key)).Status);
        }
        finally
        {
            relay.Upstream.Script = new UpstreamScript();
        }
    }

    [Fact]
    public async Task Relay_Usage_RowCarriesCostOrUnpricedFlag()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, id) = await relay.CreateKeyAsync(new { rpd = 100 });

        Assert.Equal(HttpStatusCode.OK, (await SendAsync("openai-chat", key)).Status);

        var rows = await EventuallyRowsAsync(id, 1);
        var row = Assert.Single(rows);
        Assert.Equal(0.0033, row.GetDouble("CostUsd")!.Value, 9);
        Assert.False(row.GetBoolean("Unpriced"));

        using var put = await relay.Host.Admin.PutAsync("api/admin/pricing", new StringContent("""{"prices": []}""", System.Text.Encoding.UTF8, "application/json"), ct).WaitAsync(Timeout, ct);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync("openai-chat", key)).Status);
            var unpriced = (await EventuallyRowsAsync(id, 2)).OrderBy(r => r.RowKey, StringComparer.Ordinal).Last();
            Assert.Equal(0, unpriced.GetDouble("CostUsd")); // metered at 0, and flagged
            Assert.True(unpriced.GetBoolean("Unpriced"));
        }
        finally
        {
            await relay.PutPricesAsync();
        }
    }

    [Fact]
    public async Task AdminUsage_AfterRequests_DailyTotalsWithCost()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, id) = await relay.CreateKeyAsync(new { rpd = 100 });
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(i == 1 ? "anthropic" : "openai-chat", key, stream: i == 2)).Status);
        }

        var usage = await Eventually.ValueAsync(
            $"3 requests in the usage report of key {id}",
            async token =>
            {
                using var response = await relay.Host.Admin.GetAsync($"api/admin/usage?keyId={id}", token);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement;
            },
            report => report.GetProperty("total").GetProperty("requests").GetInt64() >= 3,
            timeout: Timeout);

        var total = usage.GetProperty("total");
        Assert.Equal(3, total.GetProperty("requests").GetInt64());
        Assert.Equal(0.0033m + 0.0036m + 0.0033m, total.GetProperty("costUsd").GetDecimal());
        Assert.Equal(21 * 3, total.GetProperty("inputTokens").GetInt64());
        Assert.Equal(3, total.GetProperty("cacheWriteTokens").GetInt64());
        var row = Assert.Single(usage.GetProperty("data").EnumerateArray());
        Assert.Equal(id, row.GetProperty("key").GetString());
        Assert.True(total.GetProperty("latencyMs").GetProperty("p99").GetDouble() > 0);
        Assert.True(total.GetProperty("timeToFirstByteMs").GetProperty("p50").GetDouble() > 0);

        using var byModel = await relay.Host.Admin.GetAsync($"api/admin/usage?keyId={id}&groupBy=model", ct).WaitAsync(Timeout, ct);
        var models = System.Text.Json.JsonDocument.Parse(await byModel.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("data");
        Assert.Equal(
            [("m-anthropic", 1L), ("m-openai", 2L)],
            models.EnumerateArray().Select(m => (m.GetProperty("model").GetString(), m.GetProperty("requests").GetInt64())).ToArray());
    }

    [Fact]
    public async Task KeyInfo_OwnKey_LimitsAndQuotaWithoutTheSecret()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, id) = await relay.CreateKeyAsync(new { rpd = 7, totalCostUsd = 2 });
        using var http = relay.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/key-info");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);

        using var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
        var body = await response.Content.ReadAsStringAsync(ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = System.Text.Json.JsonDocument.Parse(body).RootElement;
        Assert.Equal(id, root.GetProperty("key").GetProperty("id").GetString());
        Assert.DoesNotContain(key, body, StringComparison.Ordinal);
        Assert.Equal("""{"rpd":7,"totalCostUsd":2}""", root.GetProperty("quota").GetProperty("limits").GetRawText());
        Assert.Equal(7, root.GetProperty("quota").GetProperty("usage")[0].GetProperty("remaining").GetInt64());

        using var anonymous = await http.GetAsync("v1/key-info", ct).WaitAsync(Timeout, ct);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task QuotaApi_UserAndAdminKeys_OwnQuotaForUsersOthersForAdminsOnly()
    {
        var ct = TestContext.Current.CancellationToken;
        var user = "alice-" + Guid.NewGuid().ToString("N")[..6];
        var (alice, _) = await relay.CreateKeyAsync(new { dailyInputTokens = 1000, rpd = 10 }, owner: user);
        var (admin, _) = await relay.CreateKeyAsync(new { }, owner: "ops", role: "admin");
        using var http = relay.Host.CreateClient();
        async Task<(HttpStatusCode Status, System.Text.Json.JsonElement Body)> CallAsync(HttpMethod method, string path, string key, string? json = null)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            if (json is not null)
            {
                request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
            }

            using var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
            return (response.StatusCode, System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement);
        }

        var forbiddenRead = await CallAsync(HttpMethod.Get, "api/v1/quota/ops", alice);
        var forbiddenWrite = await CallAsync(HttpMethod.Put, $"api/v1/quota/{user}", alice, """{"daily_output_tokens": 1}""");
        var put = await CallAsync(HttpMethod.Put, $"api/v1/quota/{user}", admin, """{"daily_output_tokens": 500}""");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync("openai-chat", alice)).Status);

        Assert.Equal(HttpStatusCode.Forbidden, forbiddenRead.Status);
        Assert.Equal("Only an admin key may read or set another user's quota.", forbiddenRead.Body.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, forbiddenWrite.Status);
        Assert.Equal(HttpStatusCode.OK, put.Status);
        Assert.Equal(
            """{"daily_input_tokens":1000,"daily_output_tokens":500,"daily_requests":10,"monthly_input_tokens":null,"monthly_output_tokens":null}""",
            put.Body.GetProperty("limits").GetRawText());

        var own = await Eventually.ValueAsync(
            $"1 request in the quota usage of {user}",
            async _ =>
            {
                var answer = await CallAsync(HttpMethod.Get, "api/v1/quota", alice);
                Assert.Equal(HttpStatusCode.OK, answer.Status);
                return answer.Body;
            },
            body => body.GetProperty("usage").GetProperty("requests").GetInt64() >= 1,
            timeout: Timeout);

        Assert.Equal(user, own.GetProperty("user_id").GetString());
        Assert.Equal(
            $$"""{"user_id":"{{user}}","period":"daily","input_tokens":26,"output_tokens":7,"total_tokens":33,"requests":1,"limit_input":1000,"limit_output":500,"percentage_used":10}""",
            own.GetProperty("usage").GetRawText());
        Assert.Equal(own.GetRawText(), (await CallAsync(HttpMethod.Get, $"api/v1/quota/{user}", admin)).Body.GetRawText());
    }

    private static async Task<HttpResponseMessage> OpenStreamAsync(HttpClient http, string key)
    {
        var ct = TestContext.Current.CancellationToken;
        using var request = new OpenAIChatDriver().Build(Scenario.Text, RelayWithUpstreams.ModelFor("openai"), stream: true, key);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).WaitAsync(Timeout, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    /// <summary>Polls until a request succeeds: the server notices a disconnect on its own schedule.</summary>
    private async Task EventuallyOkAsync(string key) =>
        await Eventually.ValueAsync(
            "the concurrency slot to be released (a request answered 200)",
            async _ => (await SendAsync("openai-chat", key)).Status,
            status => status == HttpStatusCode.OK,
            timeout: Timeout);

    private Task<IReadOnlyList<TableEntity>> EventuallyRowsAsync(string keyId, int count) =>
        Eventually.RowsAsync(relay.Host.Table(RelayTables.Usage), keyId, count, Timeout);
}
