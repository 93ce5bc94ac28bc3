using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// A Chat Completions request for what only OpenAI answers (audio output, log probabilities): an account that passes
/// the request through serves it; one that would translate it is left out, and with none left the client gets a 400
/// naming the field, in OpenAI's error shape, rather than a text answer without what it asked for.
/// </summary>
public sealed class ChatOnlyOpenAIAnswersTests(RelayPathFixture relay) : IClassFixture<RelayPathFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("m-anthropic", "\"logprobs\":true", "logprobs", "logprobs: an upstream of another format gives no log probabilities; leave logprobs out")]
    [InlineData("m-anthropic", "\"n\":2", "n", "n: an upstream of another format gives one choice only; leave n out or at 1")]
    [InlineData("m-gemini", "\"modalities\":[\"text\",\"audio\"],\"audio\":{\"voice\":\"alloy\",\"format\":\"wav\"}", "audio", "audio: an upstream of another format answers in text only; leave audio out")]
    public async Task TranslatingAccount_Refused400NamingTheField(string model, string fields, string param, string message)
    {
        relay.Upstream.Reset();
        var (status, body) = await PostAsync(model, fields);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        using var error = JsonDocument.Parse(body);
        Assert.Equal(
            (message, "invalid_request_error", param),
            (error.RootElement.GetProperty("error").GetProperty("message").GetString(),
             error.RootElement.GetProperty("error").GetProperty("type").GetString(),
             error.RootElement.GetProperty("error").GetProperty("param").GetString()));
        Assert.Empty(relay.Upstream.Requests);
    }

    [Fact]
    public async Task PassthroughAccount_Served()
    {
        relay.Upstream.Reset();
        var (status, _) = await PostAsync("m-openai", "\"logprobs\":true,\"top_logprobs\":2");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(relay.Upstream.LastRequest.Json.GetProperty("logprobs").GetBoolean());
    }

    /// <summary>A model served by an Anthropic and an OpenAI account: the request goes to the one that can answer it, not refused.</summary>
    [Theory]
    [InlineData("logprobs", "\"logprobs\":true")]
    [InlineData("n", "\"n\":2")]
    public async Task MixedPool_ServedByTheAccountThatPassesThrough(string field, string fields)
    {
        var model = "m-mixed-" + field;
        relay.Upstream.Reset();
        foreach (var (provider, baseUrl) in new[] { ("anthropic", relay.Upstream.AnthropicBaseUrl), ("openai", relay.Upstream.OpenAIBaseUrl) })
        {
            await relay.Host.CreateAccountAsync(new
            {
                name = provider + " " + model,
                provider,
                baseUrl,
                apiKey = relay.Upstream.ApiKey,
                models = new[] { model },
            }).WaitAsync(Timeout, Ct);
        }

        for (var i = 0; i < 3; i++)
        {
            var (status, body) = await PostAsync(model, fields);

            Assert.True(status == HttpStatusCode.OK, body);
            Assert.Equal(UpstreamDialect.OpenAIChat, relay.Upstream.LastRequest.Dialect);
            Assert.True(relay.Upstream.LastRequest.Json.TryGetProperty(field, out _), field + " reaches the OpenAI account");
        }
    }

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string model, string fields)
    {
        var key = await relay.Host.CreateKeyAsync().WaitAsync(Timeout, Ct);
        using var http = relay.Host.CreateClient();
        var json = $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}],{{fields}}}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request, Ct).WaitAsync(Timeout, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct).WaitAsync(Timeout, Ct));
    }
}
