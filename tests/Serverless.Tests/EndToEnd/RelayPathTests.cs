using System.Collections;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;
using Serverless.Relay.Relaying;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// A relay whose per-attempt deadline is short (1 s), with an Anthropic, an OpenAI and a Gemini account on one loopback
/// upstream; for the request path's own faults and the in-process entry point.
/// </summary>
public sealed class RelayPathFixture(AzuriteFixture azurite) : IAsyncLifetime
{
    internal RelayHost Host { get; private set; } = null!;

    internal LoopbackUpstream Upstream { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Upstream = await LoopbackUpstream.StartAsync(CancellationToken.None);
        Host = await RelayHost.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["Failover:AttemptTimeout"] = "00:00:01",
            ["Failover:MaxAttempts"] = "1",
        });
        foreach (var (provider, baseUrl, upstreamModel) in new[]
        {
            ("anthropic", Upstream.AnthropicBaseUrl, "claude-test"),
            ("openai", Upstream.OpenAIBaseUrl, "gpt-test"),
            ("gemini", Upstream.GeminiBaseUrl, "gemini-test"),
        })
        {
            await Host.CreateAccountAsync(new
            {
                name = provider + " account",
                provider,
                baseUrl,
                apiKey = Upstream.ApiKey,
                models = new[] { "m-" + provider },
                modelMap = new Dictionary<string, string> { ["m-" + provider] = upstreamModel },
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

/// <summary>The request path end to end: the in-process entry point, and faults the path must end cleanly.</summary>
public sealed class RelayPathTests(RelayPathFixture relay) : IClassFixture<RelayPathFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IRelay InProcess => relay.Host.Services.GetRequiredService<IRelay>();

    private async Task<(string Id, ClientKey Key)> KeyAsync(object? limits = null)
    {
        var (id, plaintext) = await relay.Host.CreateKeyWithIdAsync(new { name = "in-process", limits });
        var key = await relay.Host.Services.GetRequiredService<IClientKeyAuthenticator>().AuthenticateAsync(plaintext, Ct).AsTask().WaitAsync(Timeout, Ct);
        return (id, key!);
    }

    private static ChatRequest Ask(string model, string text, bool stream = false, IReadOnlyList<ChatMessage>? messages = null) => new()
    {
        Model = model,
        Messages = messages ?? [new ChatMessage(ChatRole.User, [new TextPart(text)])],
        MaxOutputTokens = 50,
        Stream = stream,
    };

    [Theory]
    [InlineData("m-anthropic", false)]
    [InlineData("m-openai", true)]
    [InlineData("m-gemini", true)]
    public async Task RelayAsync_InProcess_AnswersTextAndRecordsOneUsageRow(string model, bool stream)
    {
        relay.Upstream.Reset();
        relay.Upstream.Script = new UpstreamScript { ReplyWords = 3 };
        var (id, key) = await KeyAsync();
        using var request = RelayRequest.Create(key, Ask(model, "hello", stream));

        var result = await InProcess.RelayAsync(request, Ct).WaitAsync(Timeout, Ct);

        Assert.Equal(RelayOutcomeKind.Answered, result.Outcome.Kind);
        Assert.Equal("w1 w2 w3", result.Text);
        var row = Assert.Single(await relay.Host.UsageRowsAsync(id, 1, Timeout));
        Assert.Equal(200, row.GetInt32("Status"));
        Assert.Equal("in-process", row.GetString("ClientApi"));
        Assert.Equal(model, row.GetString("RequestedModel"));
        Assert.True(row.GetInt64("OutputTokens") > 0);
    }

    [Fact]
    public async Task RelayAsync_InProcessKeyAtItsLimit_RefusedAndRecorded()
    {
        relay.Upstream.Reset();
        var (id, key) = await KeyAsync(new { rpd = 1 });
        using var first = RelayRequest.Create(key, Ask("m-openai", "hello"));
        using var second = RelayRequest.Create(key, Ask("m-openai", "hello again"));

        var answered = await InProcess.RelayAsync(first, Ct).WaitAsync(Timeout, Ct);
        var refused = await InProcess.RelayAsync(second, Ct).WaitAsync(Timeout, Ct);

        Assert.Equal(RelayOutcomeKind.Answered, answered.Outcome.Kind);
        Assert.Equal(RelayOutcomeKind.Refused, refused.Outcome.Kind);
        Assert.Equal(429, refused.Outcome.Status);
        Assert.Equal(ErrorKind.RateLimited, refused.Outcome.Error!.Kind);
        Assert.Null(refused.Text);
        var rows = await relay.Host.UsageRowsAsync(id, 2, Timeout);
        Assert.Equal(new[] { 200, 429 }, rows.Select(r => r.GetInt32("Status")!.Value));
    }

    [Fact]
    public async Task RelayAsync_ExceptionInsideThePath_OneRowWith500AndTheLeaseReleased()
    {
        relay.Upstream.Reset();
        var (id, key) = await KeyAsync(new { maxConcurrency = 1 });
        using var exploding = RelayRequest.Create(key, Ask("m-anthropic", "", messages: new ExplodingMessages()));
        using var next = RelayRequest.Create(key, Ask("m-anthropic", "hello"));

        var faulted = await InProcess.RelayAsync(exploding, Ct).WaitAsync(Timeout, Ct);
        var answered = await InProcess.RelayAsync(next, Ct).WaitAsync(Timeout, Ct);

        Assert.Equal(RelayOutcomeKind.Faulted, faulted.Outcome.Kind);
        Assert.Equal(500, faulted.Outcome.Status);
        Assert.Equal(RelayOutcomeKind.Answered, answered.Outcome.Kind);
        var rows = await relay.Host.UsageRowsAsync(id, 2, Timeout);
        Assert.Equal(2, rows.Count);
        Assert.Equal(500, rows[0].GetInt32("Status"));
        Assert.Equal("InvalidOperationException: boom", rows[0].GetString("Error"));
        Assert.Equal(200, rows[1].GetInt32("Status"));
    }

    [Theory]
    [InlineData("v1/messages/count_tokens", "m-anthropic", """{"model":"m-anthropic","messages":[{"role":"user","content":"hello"}]}""", "timeout_error")]
    [InlineData("v1beta/models/m-gemini:countTokens", "m-gemini", """{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}""", "DEADLINE_EXCEEDED")]
    public async Task CountTokens_UpstreamHangs_EndsWithTimeoutErrorInClientShape(string path, string model, string body, string type)
    {
        relay.Upstream.Reset();
        relay.Upstream.Script = new UpstreamScript { Hang = true };
        var (_, plaintext) = await relay.Host.CreateKeyWithIdAsync(new { name = "count" });
        using var http = relay.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(model == "m-gemini" ? "x-goog-api-key" : "x-api-key", plaintext);
        request.Headers.Add("anthropic-version", "2023-06-01");
        try
        {
            var clock = Stopwatch.StartNew();
            using var response = await http.SendAsync(request, Ct).WaitAsync(Timeout, Ct);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("error");

            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
            Assert.Equal(type, error.TryGetProperty("type", out var t) ? t.GetString() : error.GetProperty("status").GetString());
            Assert.Equal("The upstream did not answer within 1 s.", error.GetProperty("message").GetString());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        }
        finally
        {
            relay.Upstream.Reset();
        }
    }

    [Fact]
    public async Task ResponsesStream_PassthroughCutMidway_ErrorAndResponseFailedContinueSequenceNumbers()
    {
        relay.Upstream.Reset();
        relay.Upstream.Script = new UpstreamScript { BreakAfterEvents = 4, ReplyWords = 20 };
        var (_, plaintext) = await relay.Host.CreateKeyWithIdAsync(new { name = "responses" });
        try
        {
            using var http = relay.Host.CreateClient();
            using var request = new ResponsesDriver().Build(Scenario.Text, "m-openai", true, plaintext);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct).WaitAsync(Timeout, Ct);
            var events = new List<ArrivedEvent>();
            await foreach (var arrived in SseArrivals.ReadAsync(response, Stopwatch.StartNew(), Ct))
            {
                events.Add(arrived);
            }

            Assert.Equal(["error", "response.failed"], events[^2..].Select(e => e.Event));
            var failed = JsonDocument.Parse(events[^1].Data).RootElement.GetProperty("response");
            Assert.Equal(JsonDocument.Parse(events[0].Data).RootElement.GetProperty("response").GetProperty("id").GetString(), failed.GetProperty("id").GetString());
            Assert.Equal("failed", failed.GetProperty("status").GetString());
            var numbers = events.Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("sequence_number").GetInt32()).ToArray();
            Assert.Equal(Enumerable.Range(numbers[0], numbers.Length), numbers);
        }
        finally
        {
            relay.Upstream.Reset();
        }
    }

    /// <summary>A conversation that throws when anything reads it: a bug deep inside the path, on purpose.</summary>
    private sealed class ExplodingMessages : IReadOnlyList<ChatMessage>
    {
        public int Count => throw new InvalidOperationException("boom");

        public ChatMessage this[int index] => throw new InvalidOperationException("boom");

        public IEnumerator<ChatMessage> GetEnumerator() => throw new InvalidOperationException("boom");

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
