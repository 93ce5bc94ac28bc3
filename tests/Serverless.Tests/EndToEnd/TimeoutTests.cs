using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// A slow upstream never leaves a client hanging: a non-streamed answer that takes too long is a clear 504 (before
/// Azure's 230 s cut-off), a stream that goes silent ends with an error event, and a stream that keeps sending lives
/// as long as it needs.
/// </summary>
public sealed class TimeoutTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private WebApplication _slow = null!;
    private RelayHost _relay = null!;
    private string _key = "";

    public async ValueTask InitializeAsync()
    {
        // A misbehaving OpenAI-compatible server: answers after "delay" ms, or streams "events" chunks "gap" ms apart.
        _slow = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]).Build();
        _slow.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            var body = await JsonDocument.ParseAsync(context.Request.Body);
            var content = body.RootElement.GetProperty("messages")[0].GetProperty("content").GetString()!.Split(' ');
            var (mode, amount, count) = (content[0], int.Parse(content[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(content[2], System.Globalization.CultureInfo.InvariantCulture));
            if (mode == "answer")
            {
                await Task.Delay(amount, context.RequestAborted);
                await context.Response.WriteAsJsonAsync(JsonDocument.Parse("""{"id":"c1","object":"chat.completion","created":1,"model":"slow","choices":[{"index":0,"message":{"role":"assistant","content":"late"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""").RootElement);
                return;
            }

            context.Response.ContentType = "text/event-stream";
            for (var i = 0; i < count; i++)
            {
                await context.Response.WriteAsync($$"""data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"slow","choices":[{"index":0,"delta":{"content":"t{{i}} "},"finish_reason":null}]}""" + "\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(amount, context.RequestAborted);
            }

            await context.Response.WriteAsync("""data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"slow","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""" + "\n\ndata: [DONE]\n\n", context.RequestAborted);
        });
        await _slow.StartAsync();
        var slowUrl = _slow.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        _relay = await RelayHost.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["Failover:AttemptTimeout"] = "00:00:01",
            ["Relay:StreamIdleTimeout"] = "00:00:01",
        });
        await _relay.CreateAccountAsync(new { name = "slow", provider = "openai-compatible", baseUrl = slowUrl + "/v1", apiKey = "k", models = new[] { "slow" } });
        _key = await _relay.CreateKeyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _slow.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string Body)> ChatAsync(string client, string content, bool stream)
    {
        using var http = _relay.CreateClient();
        var path = client == "anthropic" ? "v1/messages" : "v1/chat/completions";
        var body = client == "anthropic"
            ? $$"""{"model":"slow","max_tokens":10,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{content}}"}]}"""
            : $$"""{"model":"slow","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{content}}"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", _key);
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("openai-chat", "timeout_error")]
    [InlineData("anthropic", "timeout_error")]
    public async Task Answer_SlowerThanAttemptTimeout_504InClientShape(string client, string type)
    {
        var (status, body) = await ChatAsync(client, "answer 3000 0", stream: false);

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal("The upstream did not answer within 1 s.", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Stream_SilentLongerThanIdleTimeout_EndsWithErrorEvent()
    {
        var (status, body) = await ChatAsync("anthropic", "stream 3000 3", stream: true);

        Assert.Equal(HttpStatusCode.OK, status);
        var frames = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("event: error\n", frames[^1], StringComparison.Ordinal);
        Assert.Contains("The upstream stream sent nothing for 1 s.", frames[^1], StringComparison.Ordinal);
        Assert.Contains("t0 ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_KeepsSending_OutlivesAttemptTimeout()
    {
        // 8 chunks 400 ms apart: 3.2 s in all, over three times the 1 s attempt timeout (which ends at the first byte), never idle for 1 s.
        var (status, body) = await ChatAsync("openai-chat", "stream 400 8", stream: true);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("t7 ", body, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }
}
