using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Relaying;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>The relay of <see cref="InFlightBodyTests"/>: request bodies bound at 64 KB.</summary>
public sealed class InFlightBodyRelay(AzuriteFixture azurite)
    : OneAccountRelay(azurite, new Dictionary<string, string?> { ["Relay:MaxInFlightBodyBytes"] = Bound.ToString() })
{
    public const long Bound = 64 * 1024;
}

/// <summary>
/// Issue 11, "memory is bounded by configuration": request bodies take their bytes from one process-wide bound
/// (<c>Relay:MaxInFlightBodyBytes</c>) before they are read; a body that does not fit is refused at once in the client
/// API's error shape, and every way a request ends (answered, refused, failed upstream, client gone mid-body or
/// mid-answer) gives its bytes back.
/// </summary>
public sealed class InFlightBodyTests : IClassFixture<InFlightBodyRelay>
{
    private const long Bound = InFlightBodyRelay.Bound;

    private readonly InFlightBodyRelay _fixture;
    private readonly RelayHost _relay;
    private readonly LoopbackUpstream _upstream;

    public InFlightBodyTests(InFlightBodyRelay relay)
    {
        _fixture = relay;
        _relay = relay.Host;
        _upstream = relay.Upstream;
        _upstream.Reset();
    }

    private InFlightBodies Bodies => _relay.Services.GetRequiredService<InFlightBodies>();

    [Theory]
    [InlineData("openai-chat", "invalid_request_error")]
    [InlineData("anthropic", "request_too_large")]
    [InlineData("gemini", "INVALID_ARGUMENT")]
    public async Task Relay_BodyLargerThanTheWholeBound_Answers413InClientShapeWithoutReadingIt(string client, string type)
    {
        var (error, _) = await SendAsync(client, Body(client, 2 * (int)Bound));

        Assert.Equal(413, error.Status);
        Assert.Equal(type, error.Type);
        Assert.Equal("Request body is larger than 64 KB.", error.Message);
        Assert.Empty(_upstream.Requests);
        Assert.Equal(0, Bodies.Held);
    }

    [Fact]
    public async Task Relay_ChunkedBodyGrowingPastTheBound_Answers413()
    {
        var (error, _) = await SendAsync("openai-chat", new ChunkedContent(Body("openai-chat", 2 * (int)Bound)));

        Assert.Equal(413, error.Status);
        Assert.Equal("Request body is larger than 64 KB.", error.Message);
        await Eventually.ValueAsync("the body's bytes returned", _ => Task.FromResult(Bodies.Held), held => held == 0);
    }

    [Theory]
    [InlineData("openai-chat", "rate_limit_exceeded")]
    [InlineData("anthropic", "rate_limit_error")]
    [InlineData("gemini", "RESOURCE_EXHAUSTED")]
    public async Task Relay_BodyThatDoesNotFitWhatRemains_Answers429WithRetryAfter_AndAnAbortedBodyGivesItsBytesBack(string client, string type)
    {
        var ct = TestContext.Current.CancellationToken;
        var held = Body("openai-chat", 40 * 1024);
        using var leaving = new CancellationTokenSource();
        var stalled = new StalledContent(held, sendFirst: 1024);
        var holding = SendRawAsync("openai-chat", stalled, leaving.Token);
        await Eventually.ValueAsync("the stalled body's declared bytes taken", _ => Task.FromResult(Bodies.Held), bytes => bytes == held.Length);

        var (refused, response) = await SendAsync(client, Body(client, 30 * 1024));

        Assert.Equal(429, refused.Status);
        Assert.Equal(type, refused.Type);
        Assert.Equal("The relay is holding as many request bodies as it is configured for; retry shortly.", refused.Message);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);

        // The client leaves in the middle of its body: every byte it took comes back, and the next body fits.
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => holding);
        await Eventually.ValueAsync("the aborted body's bytes returned", _ => Task.FromResult(Bodies.Held), bytes => bytes == 0);
        var (status, _) = await PostAsync(client, Body(client, 30 * 1024), ct);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Relay_EveryWayARequestEnds_GivesItsBytesBack()
    {
        var ct = TestContext.Current.CancellationToken;

        // Answered, streamed, chunked, refused by the upstream, not JSON.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("openai-chat", Body("openai-chat", 20 * 1024), ct)).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("openai-chat", Body("openai-chat", 20 * 1024, stream: true), ct)).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("anthropic", new ChunkedContent(Body("anthropic", 20 * 1024)), ct)).Status);
        _upstream.Script = new UpstreamScript { FailStatus = 400 };
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("openai-chat", Body("openai-chat", 20 * 1024), ct)).Status);
        _upstream.Reset();
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("openai-chat", Encoding.UTF8.GetBytes("{\"model\": " + new string(' ', 20 * 1024)), ct)).Status);
        await Eventually.ValueAsync("every body's bytes returned", _ => Task.FromResult(Bodies.Held), held => held == 0);

        // The client leaves while the upstream holds its (whole, read) request.
        _upstream.Script = new UpstreamScript { Hang = true };
        using (var leaving = new CancellationTokenSource())
        {
            var request = PostAsync("openai-chat", Body("openai-chat", 20 * 1024, stream: true), leaving.Token);
            await Eventually.ValueAsync("the upstream holding the request", _ => Task.FromResult(_upstream.Requests.Count), hits => hits == 1);
            Assert.True(Bodies.Held >= 20 * 1024);
            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }

        await Eventually.ValueAsync("the left request's bytes returned", _ => Task.FromResult(Bodies.Held), held => held == 0);
    }

    /// <summary>A client's chat body of about <paramref name="size"/> bytes (the padding is the user's message).</summary>
    private static byte[] Body(string client, int size, bool stream = false) => OneAccountRelay.ChatBody(client, new string('x', size), stream);

    private HttpRequestMessage Request(string client, HttpContent content) => _fixture.ChatRequest(client, content);

    private Task<(ClientError Error, HttpResponseMessage Response)> SendAsync(string client, byte[] body) => SendAsync(client, new ByteArrayContent(body));

    private Task<(ClientError Error, HttpResponseMessage Response)> SendAsync(string client, HttpContent content) => _fixture.SendRefusedChatAsync(client, content);

    private Task<(HttpStatusCode Status, string Body)> PostAsync(string client, byte[] body, CancellationToken ct) => PostAsync(client, new ByteArrayContent(body), ct);

    private Task<(HttpStatusCode Status, string Body)> PostAsync(string client, HttpContent content, CancellationToken ct) => _fixture.PostChatAsync(client, content, ct);

    private async Task SendRawAsync(string client, HttpContent content, CancellationToken ct)
    {
        using var http = _relay.CreateClient();
        using var response = await http.SendAsync(Request(client, content), ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
    }

    /// <summary>A body without a declared length, sent in chunks as a streaming client does.</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            for (var offset = 0; offset < body.Length; offset += 8 * 1024)
            {
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(8 * 1024, body.Length - offset)), cancellationToken);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>Declares the whole body, sends its first bytes, then waits until the client gives up.</summary>
    private sealed class StalledContent(byte[] body, int sendFirst) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(body.AsMemory(0, sendFirst), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
