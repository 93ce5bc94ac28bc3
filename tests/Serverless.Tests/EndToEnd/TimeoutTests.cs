using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// A slow upstream never leaves a client hanging: a non-streamed answer that takes too long is a clear 504 (before
/// Azure's 230 s cut-off), a stream that goes silent ends with an error event, a stream that keeps sending lives
/// as long as it needs, and a stream still waiting for its first event is kept alive by heartbeats.
/// </summary>
public sealed class TimeoutTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string KeepAlive = ": keep-alive\n\n";

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Failover:AttemptTimeout"] = "00:00:01",
        ["Relay:StreamIdleTimeout"] = "00:00:01",
    };

    // "held" requests wait for this: the test opens it once its client has seen what it waits for (a gate, not a clock).
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication _slow = null!;
    private string _slowUrl = "";
    private int _slowHits;
    private RelayHost _relay = null!;
    private string _key = "";
    private string _keyId = "";

    public async ValueTask InitializeAsync()
    {
        // A misbehaving OpenAI-compatible server: answers after "delay" ms, or streams "events" chunks "gap" ms apart.
        _slow = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]).Build();
        _slow.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            Interlocked.Increment(ref _slowHits);
            var body = await JsonDocument.ParseAsync(context.Request.Body);
            var content = body.RootElement.GetProperty("messages")[0].GetProperty("content").GetString()!.Split(' ');
            var (mode, amount, count) = (content[0], int.Parse(content[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(content[2], System.Globalization.CultureInfo.InvariantCulture));
            if (mode == "fail")
            {
                // After "amount" ms, the status "count" with an OpenAI error body.
                await Task.Delay(amount, context.RequestAborted);
                context.Response.StatusCode = count;
                await context.Response.WriteAsJsonAsync(JsonDocument.Parse("""{"error":{"message":"the upstream broke","type":"server_error","param":null,"code":null}}""").RootElement);
                return;
            }

            if (mode == "held")
            {
                // Nothing at all (not even headers) until the test opens the gate, then "count" chunks at once.
                await _release.Task.WaitAsync(context.RequestAborted);
            }

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
        _slowUrl = _slow.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await StartRelayAsync(Settings, accounts: 1);
    }

    /// <summary>A relay with these settings and <paramref name="accounts"/> accounts, all on the slow server.</summary>
    private async Task StartRelayAsync(Dictionary<string, string?> settings, int accounts)
    {
        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }

        _relay = await RelayHost.StartAsync(azurite, settings);
        for (var i = 0; i < accounts; i++)
        {
            await _relay.CreateAccountAsync(new { name = "slow " + i, provider = "openai-compatible", baseUrl = _slowUrl + "/v1", apiKey = "k", models = new[] { "slow" } });
        }

        (_keyId, _key) = await _relay.CreateKeyWithIdAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _slow.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string Body)> ChatAsync(string client, string content, bool stream)
    {
        using var http = _relay.CreateClient();
        using var request = ChatRequest(client, content, stream);
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    private HttpRequestMessage ChatRequest(string client, string content, bool stream)
    {
        var path = client == "anthropic" ? "v1/messages" : "v1/chat/completions";
        var body = client == "anthropic"
            ? $$"""{"model":"slow","max_tokens":10,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{content}}"}]}"""
            : $$"""{"model":"slow","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{content}}"}]}""";
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", _key);
        return request;
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

    [Fact]
    public async Task Stream_AnsweredQuickly_NoHeartbeat()
    {
        await StartRelayAsync(new(Settings) { ["Relay:StreamHeartbeatInterval"] = "00:00:01" }, accounts: 1);

        var (status, body) = await ChatAsync("openai-chat", "stream 0 3", stream: true);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("data: ", body, StringComparison.Ordinal);
        Assert.DoesNotContain(KeepAlive, body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("openai-chat")]
    [InlineData("anthropic")]
    public async Task Stream_UpstreamStalls_HeartbeatsUntilTheFirstEvent(string client)
    {
        await StartRelayAsync(new(Settings) { ["Failover:AttemptTimeout"] = "00:00:20", ["Relay:StreamHeartbeatInterval"] = "00:00:00.200" }, accounts: 1);
        var ct = TestContext.Current.CancellationToken;
        using var http = _relay.CreateClient();
        using var request = ChatRequest(client, "held 0 3", stream: true);

        // The headers come with the first heartbeat, while the upstream still holds the request.
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var seen = new StringBuilder();
        var buffer = new byte[256];
        while (Count(seen.ToString(), KeepAlive) < 2)
        {
            var read = await stream.ReadAsync(buffer, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
            Assert.NotEqual(0, read);
            seen.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        Assert.Equal(0, Count(seen.ToString(), "data:")); // nothing from the upstream yet: only heartbeats
        _release.SetResult();
        var rest = await new StreamReader(stream).ReadToEndAsync(ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
        var body = seen + rest;

        Assert.Contains("t2 ", body, StringComparison.Ordinal);
        Assert.EndsWith(client == "anthropic" ? "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n" : "data: [DONE]\n\n", body, StringComparison.Ordinal);
        var afterFirstEvent = body[body.IndexOf("data:", StringComparison.Ordinal)..];
        Assert.DoesNotContain(KeepAlive, afterFirstEvent, StringComparison.Ordinal); // the heartbeat stopped at the first event
    }

    [Fact]
    public async Task Stream_HeartbeatsBeforeTheFirstEvent_OfficialOpenAISdkReadsTheStream()
    {
        await StartRelayAsync(new(Settings) { ["Failover:AttemptTimeout"] = "00:00:20", ["Relay:StreamHeartbeatInterval"] = "00:00:00.200" }, accounts: 1);
        var ct = TestContext.Current.CancellationToken;
        using var transport = new KeepAliveWatch(_release);
        var sdk = new ChatClient("slow", new ApiKeyCredential(_key), new OpenAIClientOptions
        {
            Endpoint = new Uri(_relay.BaseUri, "v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(transport)),
            RetryPolicy = new ClientRetryPolicy(0),
        });

        var text = new StringBuilder();
        await foreach (var update in sdk.CompleteChatStreamingAsync([new UserChatMessage("held 0 3")], cancellationToken: ct).WithCancellation(ct))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        Assert.Equal("t0 t1 t2 ", text.ToString());
        Assert.StartsWith(KeepAlive, transport.Received, StringComparison.Ordinal); // the SDK really did read past heartbeats
    }

    [Fact]
    public async Task Answer_StallsWithNoAttemptTimeoutShorterThanTheDeadline_504AtTheDeadlineAfterOneAttempt()
    {
        // The attempt timeout (20 s) cannot end an attempt before the deadline (1 s), so the pipeline has no timeout of
        // its own: the deadline alone cuts the attempt, and the client is told so.
        await StartRelayAsync(new(Settings) { ["Failover:AttemptTimeout"] = "00:00:20", ["Failover:TotalDeadline"] = "00:00:01" }, accounts: 2);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var (status, body) = await ChatAsync("openai-chat", "answer 5000 0", stream: false);

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(4.9)); // the deadline, not the upstream's 5 s
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("timeout_error", error.GetProperty("type").GetString());
        Assert.Equal("The relay's deadline of 1 s for this request was reached before an upstream answered (1 attempt).", error.GetProperty("message").GetString());
        Assert.Equal(1, Volatile.Read(ref _slowHits));
        var row = Assert.Single(await _relay.UsageRowsAsync(_keyId, 1, TimeSpan.FromSeconds(20)));
        Assert.Equal(504, row.GetInt32("Status"));

        var (next, _) = await ChatAsync("openai-chat", "answer 0 0", stream: false);
        Assert.Equal(HttpStatusCode.OK, next);
        Assert.Equal(2, Volatile.Read(ref _slowHits));
    }

    [Theory]
    [InlineData("openai-chat", "timeout_error")]
    [InlineData("anthropic", "timeout_error")]
    public async Task Answer_StallsPastTheTotalDeadline_504InClientShapeAfterEachAccountOnce(string client, string type)
    {
        // Two accounts on the stalling server: the first attempt ends at its 1 s timeout, the second at the 1.5 s deadline.
        await StartRelayAsync(new(Settings) { ["Failover:TotalDeadline"] = "00:00:01.500" }, accounts: 2);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var (status, body) = await ChatAsync(client, "answer 5000 0", stream: false);

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(4.9)); // the deadline, not the upstream's 5 s
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal("The relay's deadline of 1.5 s for this request was reached before an upstream answered (2 attempts).", error.GetProperty("message").GetString());
        Assert.Equal(2, Volatile.Read(ref _slowHits));
        var row = Assert.Single(await _relay.UsageRowsAsync(_keyId, 1, TimeSpan.FromSeconds(20)));
        Assert.Equal(504, row.GetInt32("Status"));
    }

    [Theory]
    [InlineData("openai-chat")]
    [InlineData("anthropic")]
    public async Task Stream_UpstreamFailsAfterAHeartbeat_ErrorEventInClientShapeAndOneUsageRow(string client)
    {
        await StartRelayAsync(new(Settings) { ["Failover:AttemptTimeout"] = "00:00:20", ["Relay:StreamHeartbeatInterval"] = "00:00:00.100" }, accounts: 1);

        var (status, body) = await ChatAsync(client, "fail 1000 500", stream: true);

        Assert.Equal(HttpStatusCode.OK, status); // committed by the first heartbeat
        Assert.StartsWith(KeepAlive, body, StringComparison.Ordinal);
        var frames = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(frame => !frame.StartsWith(':')).ToArray();
        var errorFrame = Assert.Single(frames);
        var json = errorFrame[(errorFrame.IndexOf("data: ", StringComparison.Ordinal) + 6)..];
        var error = JsonDocument.Parse(json).RootElement.GetProperty("error");
        if (client == "anthropic")
        {
            Assert.StartsWith("event: error\n", errorFrame, StringComparison.Ordinal);
            Assert.Equal("api_error", error.GetProperty("type").GetString());
        }

        Assert.Contains("the upstream broke", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        var row = Assert.Single(await _relay.UsageRowsAsync(_keyId, 1, TimeSpan.FromSeconds(20)));
        Assert.Equal(500, row.GetInt32("Status"));
        Assert.Contains("the upstream broke", row.GetString("Error"), StringComparison.Ordinal);
    }

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// The SDK's HTTP transport, watching the bytes it receives: opens the gate once a heartbeat has arrived, so the
    /// upstream answers only after the SDK has had to read past one.
    /// </summary>
    private sealed class KeepAliveWatch(TaskCompletionSource release) : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly MemoryStream _received = new();

        public string Received
        {
            get
            {
                lock (_received)
                {
                    return Encoding.UTF8.GetString(_received.ToArray());
                }
            }
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            var original = response.Content;
            var watched = new StreamContent(new WatchedStream(await original.ReadAsStreamAsync(cancellationToken), this));
            foreach (var header in original.Headers)
            {
                watched.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Content = watched;
            return response;
        }

        private void Saw(ReadOnlySpan<byte> bytes)
        {
            lock (_received)
            {
                _received.Write(bytes);
            }

            if (Received.Contains(KeepAlive, StringComparison.Ordinal))
            {
                release.TrySetResult();
            }
        }

        private sealed class WatchedStream(Stream inner, KeepAliveWatch owner) : Stream
        {
            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            {
                var read = await inner.ReadAsync(buffer, cancellationToken);
                owner.Saw(buffer.Span[..read]);
                return read;
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

            public override int Read(byte[] buffer, int offset, int count)
            {
                var read = inner.Read(buffer, offset, count);
                owner.Saw(buffer.AsSpan(offset, read));
                return read;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }
    }
}
