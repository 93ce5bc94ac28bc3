using System.Net;
using System.Text;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Reasoning settings through the whole relay: a Claude Code-style client's <c>thinking</c>, or an OpenAI client's
/// <c>reasoning_effort</c>, must reach an upstream of another format in that upstream's own fields.
/// </summary>
public sealed class ReasoningTests(RelayPathFixture relay) : IClassFixture<RelayPathFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("m-openai", "reasoning_effort", "\"medium\"")]
    [InlineData("m-gemini", "generationConfig", """{"maxOutputTokens":8000,"thinkingConfig":{"thinkingBudget":2048,"includeThoughts":true}}""")]
    public async Task Messages_ThinkingToOtherUpstream_UpstreamReceivesIt(string model, string field, string expected)
    {
        var body = """{"model":"MODEL","max_tokens":8000,"messages":[{"role":"user","content":"Why?"}],"thinking":{"type":"enabled","budget_tokens":2048}}"""
            .Replace("MODEL", model, StringComparison.Ordinal);

        await SendAsync("v1/messages", body);

        Assert.Equal(expected, relay.Upstream.LastRequest.Json.GetProperty(field).GetRawText());
    }

    [Fact]
    public async Task ChatCompletions_ReasoningEffortToAnthropic_UpstreamReceivesABudget()
    {
        await SendAsync("v1/chat/completions", """{"model":"m-anthropic","messages":[{"role":"user","content":"Why?"}],"reasoning_effort":"high","temperature":0.5}""");

        var sent = relay.Upstream.LastRequest.Json;
        Assert.Equal("""{"type":"enabled","budget_tokens":4096}""", sent.GetProperty("thinking").GetRawText());
        Assert.Equal(8192, sent.GetProperty("max_tokens").GetInt32());
        Assert.False(sent.TryGetProperty("temperature", out _));
    }

    private async Task SendAsync(string path, string body)
    {
        relay.Upstream.Reset();
        relay.Upstream.Script = new UpstreamScript { ReplyWords = 2 };
        var key = await relay.Host.CreateKeyAsync().WaitAsync(Timeout, Ct);
        using var http = relay.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(path == "v1/messages" ? "x-api-key" : "Authorization", path == "v1/messages" ? key : "Bearer " + key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await http.SendAsync(request, Ct).WaitAsync(Timeout, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
