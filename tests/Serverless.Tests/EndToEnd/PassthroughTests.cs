using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// When client and upstream speak the same format the body goes up as the client sent it, so upstream prompt caching
/// and every field the relay does not model survive.
/// </summary>
[Collection(ScriptedCollection.Name)]
public sealed class PassthroughTests
{
    private readonly RelayWithUpstreams _relay;

    public PassthroughTests(RelayWithUpstreams relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    private async Task<(int Status, string Body)> PostChatAsync(string key, string body)
    {
        using var http = _relay.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    // A user message with an `input_audio` part: OpenAI's API (and the loopback upstream) accepts it; the relay's
    // canonical model has no audio part, so its reader refuses it. No `user`: the sticky session is derived from the body.
    private const string AudioPart = """{"model":"MODEL","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"summarize"},{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]}""";

    [Fact]
    public async Task SameFormat_ContentPartTheRelayDoesNotModel_ReachesTheUpstream()
    {
        var body = AudioPart.Replace("MODEL", "exact-openai", StringComparison.Ordinal);

        var (status, answer) = await PostChatAsync(_relay.Key, body);

        Assert.True(status == 200, answer);
        Assert.Equal(body, Encoding.UTF8.GetString(_relay.Upstream.LastRequest.Body));
    }

    [Fact]
    public async Task SameFormat_BodyTheUpstreamRefuses_ItsOwnErrorRelayed()
    {
        const string body = """{"model":"exact-openai","messages":[{"role":"narrator","content":"hi"}]}""";

        var (status, answer) = await PostChatAsync(_relay.Key, body);

        Assert.Equal(400, status);
        Assert.StartsWith("Invalid value: 'narrator'.", ClientError.Read("openai-chat", status, answer).Message, StringComparison.Ordinal);
        Assert.Equal(body, Encoding.UTF8.GetString(_relay.Upstream.LastRequest.Body));
    }

    [Fact]
    public async Task Translated_BodyTheRelayCannotRead_Refused400BeforeAnyUpstream()
    {
        var body = AudioPart.Replace("MODEL", "exact-anthropic", StringComparison.Ordinal);
        var before = _relay.Upstream.Requests.Count;

        var (status, answer) = await PostChatAsync(_relay.Key, body);

        Assert.Equal(400, status);
        Assert.StartsWith("messages[1].content[1].type: must be one of", ClientError.Read("openai-chat", status, answer).Message, StringComparison.Ordinal);
        Assert.Equal(before, _relay.Upstream.Requests.Count);
    }

    [Fact]
    public async Task SameFormat_KeyLimitingTokens_ContentPartTheRelayDoesNotModel_ReachesTheUpstreamAndIsCharged()
    {
        var ct = TestContext.Current.CancellationToken;
        var (_, limited) = await _relay.Host.CreateKeyWithIdAsync(new { name = "tpm", limits = new { tpm = 100_000 } });
        var body = AudioPart.Replace("MODEL", "exact-openai", StringComparison.Ordinal);

        var (status, answer) = await PostChatAsync(limited, body);

        Assert.True(status == 200, answer);
        Assert.Equal(body, Encoding.UTF8.GetString(_relay.Upstream.LastRequest.Body));
        // The estimate was only the admission; the window is charged what the upstream counted.
        var used = await Eventually.ValueAsync("the key's tpm to be charged the upstream's usage", async token =>
        {
            using var http = _relay.Host.CreateClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, "v1/key-info");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", limited);
            using var response = await http.SendAsync(request, token);
            var tpm = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("quota").GetProperty("usage")[0];
            return tpm.GetProperty("used").GetInt64();
        }, value => value > 0);
        Assert.Equal(Upstreams.CanonicalUsage.Total, used);
    }

    [Fact]
    public async Task Translated_KeyLimitingTokens_BodyTheRelayCannotRead_Refused400BeforeAnyUpstream()
    {
        var (_, limited) = await _relay.Host.CreateKeyWithIdAsync(new { name = "tpm", limits = new { tpm = 100_000 } });
        var before = _relay.Upstream.Requests.Count;

        var (status, answer) = await PostChatAsync(limited, AudioPart.Replace("MODEL", "exact-anthropic", StringComparison.Ordinal));

        Assert.Equal(400, status);
        Assert.StartsWith("messages[1].content[1].type: must be one of", ClientError.Read("openai-chat", status, answer).Message, StringComparison.Ordinal);
        Assert.Equal(before, _relay.Upstream.Requests.Count);
    }

    private async Task<string> SendAsync(string path, string body, Action<HttpRequestHeaders> headers)
    {
        using var http = _relay.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        headers(request.Headers);
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, text);
        return text;
    }

    [Fact]
    public async Task OpenAIChat_SameFormat_BodyForwardedByteForByte()
    {
        const string body = "{ \"model\":\"exact-openai\",\n  \"messages\": [ {\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\",\"cache_control\":{\"type\":\"ephemeral\"}}]} ],\n  \"seed\": 7, \"logit_bias\": {\"50256\": -100}, \"x_unknown\": [1,2] }";

        await SendAsync("v1/chat/completions", body, h => h.Authorization = new AuthenticationHeaderValue("Bearer", _relay.Key));

        Assert.Equal(body, Encoding.UTF8.GetString(_relay.Upstream.LastRequest.Body));
    }

    [Fact]
    public async Task Anthropic_SameFormatStreaming_BodyForwardedByteForByte()
    {
        const string body = """{"model":"exact-anthropic","max_tokens":50,"stream":true,"system":[{"type":"text","text":"long cached prefix","cache_control":{"type":"ephemeral","ttl":"1h"}}],"messages":[{"role":"user","content":"hi"}],"top_k":5,"metadata":{"user_id":"u-1"}}""";

        await SendAsync("v1/messages", body, h =>
        {
            h.Add("x-api-key", _relay.Key);
            h.Add("anthropic-version", "2023-06-01");
            h.Add("anthropic-beta", "extended-cache-ttl-2025-04-11");
        });

        var seen = _relay.Upstream.LastRequest;
        Assert.Equal(body, Encoding.UTF8.GetString(seen.Body));
        Assert.Equal("extended-cache-ttl-2025-04-11", seen.Headers["anthropic-beta"]);
        Assert.Equal("2023-06-01", seen.Headers["anthropic-version"]);
        Assert.Equal(_relay.Upstream.ApiKey, seen.Headers["x-api-key"]);
    }

    [Fact]
    public async Task Gemini_SameFormatWithModelMap_BodyUnchangedModelInUrl()
    {
        const string body = """{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]}""";

        await SendAsync("v1beta/models/m-gemini:generateContent", body, h => h.Add("x-goog-api-key", _relay.Key));

        Assert.Equal(body, Encoding.UTF8.GetString(_relay.Upstream.LastRequest.Body));
        Assert.StartsWith("/v1beta/models/gemini-test:generateContent", _relay.Upstream.LastRequest.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAIChat_ModelMap_OnlyTheModelChanges()
    {
        const string body = """{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"seed":7,"n":1}""";

        await SendAsync("v1/chat/completions", body, h => h.Authorization = new AuthenticationHeaderValue("Bearer", _relay.Key));

        var expected = JsonNode.Parse(body)!;
        expected["model"] = "gpt-test";
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(_relay.Upstream.LastRequest.Body)));
    }

    [Fact]
    public async Task OpenAIChatStream_ClientDidNotAskForUsage_RelayAsksAndHidesTheUsageChunk()
    {
        var (keyId, key) = await _relay.Host.CreateKeyWithIdAsync(new { name = "hidden-usage" });
        const string body = """{"model":"exact-openai","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

        var stream = await SendAsync("v1/chat/completions", body, h => h.Authorization = new AuthenticationHeaderValue("Bearer", key));

        Assert.True(_relay.Upstream.LastRequest.Json.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        var chunks = stream.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(f => f["data: ".Length..]).ToArray();
        Assert.Equal("[DONE]", chunks[^1]);
        Assert.All(chunks[..^1], chunk =>
        {
            var root = JsonDocument.Parse(chunk).RootElement;
            Assert.NotEqual(0, root.GetProperty("choices").GetArrayLength());
            Assert.True(!root.TryGetProperty("usage", out var usage) || usage.ValueKind == JsonValueKind.Null);
        });
        var row = Assert.Single(await _relay.Host.UsageRowsAsync(keyId, 1, TimeSpan.FromSeconds(20)));
        Assert.Equal(7, row.GetInt64("OutputTokens"));
        Assert.Equal(21, row.GetInt64("InputTokens"));
    }

    /// <summary>
    /// A Codex session on a model whose pool mixes OpenAI with Claude or Gemini sends back the reasoning items the relay
    /// tagged with their maker's signature; OpenAI cannot decrypt those (the fake refuses them as OpenAI does), so they
    /// are cut from the body and every other byte, OpenAI's own encrypted reasoning included, goes as sent.
    /// </summary>
    [Fact]
    public async Task Responses_SameFormat_RelayTaggedReasoningLeftOutOfTheBody()
    {
        const string Mine = """{"type":"reasoning","id":"rs_opus_0","summary":[{"type":"summary_text","text":"Plan."}],"encrypted_content":"relay:anthropic:EqQBCgIYAhIM"}""";
        const string Gemini = """{ "type" : "reasoning" , "summary": [], "encrypted_content": "relay:gemini:CiQB" }""";
        const string OpenAIs = """{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAAABo\u00e9kept"}""";
        const string Call = """{"type":"function_call","call_id":"c1","name":"shell","arguments":"{\"cmd\":\"ls\"}"}""";
        const string Output = """{"type":"function_call_output","call_id":"c1","output":"a.txt"}""";
        static string Body(params string[] items) => """{"model":"exact-openai","store":false,"input":[""" + string.Join(",\n ", items) + """],"include":["reasoning.encrypted_content"]}""";

        await SendAsync("v1/responses", Body(Mine, """{"role":"user","content":"hi"}""", Gemini, OpenAIs, Call, Output, Mine), h => h.Authorization = new AuthenticationHeaderValue("Bearer", _relay.Key));

        Assert.Equal(Body("""{"role":"user","content":"hi"}""", OpenAIs, Call, Output), Encoding.UTF8.GetString(_relay.Upstream.LastRequest.Body));
    }

    [Fact]
    public async Task Responses_SameFormat_NoRelayTaggedReasoning_BodyForwardedByteForByte()
    {
        const string body = """{"model":"exact-openai","input":[{"role":"user","content":"relay:anthropic: in a message is text"},{"type":"reasoning","summary":[],"encrypted_content":"gAAAAABo"}],"store":false}""";

        await SendAsync("v1/responses", body, h => h.Authorization = new AuthenticationHeaderValue("Bearer", _relay.Key));

        Assert.Equal(body, Encoding.UTF8.GetString(_relay.Upstream.LastRequest.Body));
    }
}
