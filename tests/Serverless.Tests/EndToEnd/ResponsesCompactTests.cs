using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// OpenAI's <c>POST /v1/responses/compact</c>, which Codex calls to compact a long session whenever its provider is
/// OpenAI (so also when pointed at the relay by <c>OPENAI_BASE_URL</c>): relayed as sent to an account that speaks
/// Responses, under the key's auth, limits and metering, with failover; refused where no such account serves the model,
/// since a compaction has no translation. The official SDK has no compaction call: a raw HttpClient plays Codex.
/// </summary>
[Collection(ScriptedCollection.Name)]
public sealed class ResponsesCompactTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly RelayWithUpstreams _relay;

    public ResponsesCompactTests(RelayWithUpstreams relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    /// <summary>What Codex sends (codex-rs <c>CompactionInput</c>): the session's items, its instructions and tools, no stream flag.</summary>
    private static string CodexCompaction(string model) => $$"""
        {"model":"{{model}}","input":[
          {"type":"message","role":"user","content":[{"type":"input_text","text":"fix the failing test"}]},
          {"type":"reasoning","summary":[],"encrypted_content":"gAAAA-reasoning"},
          {"type":"function_call","call_id":"call_1","name":"shell","arguments":"{\"command\":[\"dotnet\",\"test\"]}"},
          {"type":"function_call_output","call_id":"call_1","output":"Passed: 12"},
          {"type":"message","role":"assistant","content":[{"type":"output_text","text":"All tests pass."}]}],
         "instructions":"You are Codex.","tools":[{"type":"function","name":"shell","parameters":{"type":"object"},"strict":false}],
         "parallel_tool_calls":false,"reasoning":{"effort":"high","summary":"auto"},"prompt_cache_key":"session-1"}
        """;

    private async Task<(int Status, string Body)> CompactAsync(string body, string? key, string path = "v1/responses/compact")
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = _relay.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct));
    }

    [Theory]
    [InlineData("v1/responses/compact")]
    [InlineData("responses/compact")]
    public async Task Compact_OpenAIAccount_ForwardedAsSentAndAnswerRelayedAndMetered(string path)
    {
        var (keyId, key) = await _relay.Host.CreateKeyWithIdAsync(new { name = "codex", owner = "codex-user" });
        var body = CodexCompaction(RelayWithUpstreams.ExactModelFor("openai"));

        var (status, answer) = await CompactAsync(body, key, path);

        Assert.True(status == 200, answer);
        var forwarded = Assert.Single(_relay.Upstream.Requests);
        Assert.Equal("/v1/responses/compact", forwarded.PathAndQuery);
        Assert.Equal(body, Encoding.UTF8.GetString(forwarded.Body));
        Assert.Equal("Bearer " + _relay.Upstream.ApiKey, forwarded.Headers["Authorization"]);

        var compacted = JsonDocument.Parse(answer).RootElement;
        Assert.Equal("response.compaction", compacted.GetProperty("object").GetString());
        var output = compacted.GetProperty("output").EnumerateArray().ToList();
        Assert.Equal("fix the failing test", output[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("compaction", output[^1].GetProperty("type").GetString());
        Assert.Equal(ResponsesCompactEndpoint.EncryptedContent, output[^1].GetProperty("encrypted_content").GetString());

        var row = Assert.Single(await _relay.Host.UsageRowsAsync(keyId, 1, Timeout));
        Assert.Equal(200, row.GetInt32("Status"));
        Assert.Equal("openai-responses-compact", row.GetString("ClientApi"));
        Assert.Equal("openai", row.GetString("Provider"));
        Assert.False(row.GetBoolean("Stream"));
        Assert.Equal(CanonicalUsage.UncachedInput, row.GetInt64("InputTokens"));
        Assert.Equal(CanonicalUsage.CacheRead, row.GetInt64("CacheReadTokens"));
        Assert.Equal(CanonicalUsage.Output, row.GetInt64("OutputTokens"));
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    [InlineData("openai-compatible")]
    [InlineData("azure-openai")]
    public async Task Compact_ModelOnlyOnAccountsOfOtherFormats_Refused400BeforeAnyUpstream(string provider)
    {
        var model = RelayWithUpstreams.ExactModelFor(provider);

        var (status, body) = await CompactAsync(CodexCompaction(model), _relay.Key);

        Assert.Equal(400, status);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Equal(
            $"The model '{model}' is served by an upstream that cannot compact a conversation: responses/compact needs an account that speaks the Responses API (OpenAI).",
            error.GetProperty("message").GetString());
        Assert.Empty(_relay.Upstream.Requests);
    }

    [Fact]
    public async Task Compact_WithoutKey_Refused401InOpenAIShape()
    {
        var (status, body) = await CompactAsync(CodexCompaction(RelayWithUpstreams.ExactModelFor("openai")), key: null);

        Assert.Equal(401, status);
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("message").ValueKind);
        Assert.Empty(_relay.Upstream.Requests);
    }

    [Fact]
    public async Task Compact_KeyAtItsRequestLimit_Refused429()
    {
        var key = await _relay.Host.CreateKeyAsync(new { name = "one a day", limits = new { rpd = 1 } });
        var body = CodexCompaction(RelayWithUpstreams.ExactModelFor("openai"));

        var (first, _) = await CompactAsync(body, key);
        var (second, refusal) = await CompactAsync(body, key);

        Assert.Equal(200, first);
        Assert.Equal(429, second);
        Assert.StartsWith("This API key has reached its rpd limit of 1.", JsonDocument.Parse(refusal).RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Single(_relay.Upstream.Requests);
    }

    [Fact]
    public async Task Compact_StreamAsked_Refused400NamingStream()
    {
        var body = CodexCompaction(RelayWithUpstreams.ExactModelFor("openai")).Replace("\"prompt_cache_key\"", "\"stream\":true,\"prompt_cache_key\"", StringComparison.Ordinal);

        var (status, answer) = await CompactAsync(body, _relay.Key);

        Assert.Equal(400, status);
        var error = JsonDocument.Parse(answer).RootElement.GetProperty("error");
        Assert.Equal("stream", error.GetProperty("param").GetString());
        Assert.Equal("stream: a compaction is answered whole; it cannot be streamed", error.GetProperty("message").GetString());
        Assert.Empty(_relay.Upstream.Requests);
    }

    [Fact]
    public async Task Compact_FirstOpenAIAccountFails_FailsOverToTheNext()
    {
        // Two accounts of their own serve this model, so the shared ones keep their health.
        const string Model = "compact-pool";
        await _relay.Host.CreateLoopbackAccountAsync(_relay.Upstream, "openai", [Model]);
        await _relay.Host.CreateLoopbackAccountAsync(_relay.Upstream, "openai", [Model]);
        _relay.Upstream.Script = new UpstreamScript { FailStatus = 500, FailTimes = 1 };

        var (status, answer) = await CompactAsync(CodexCompaction(Model), _relay.Key);

        Assert.True(status == 200, answer);
        Assert.Equal(["/v1/responses/compact", "/v1/responses/compact"], _relay.Upstream.Requests.Select(r => r.PathAndQuery));
        Assert.Equal("response.compaction", JsonDocument.Parse(answer).RootElement.GetProperty("object").GetString());
    }
}
