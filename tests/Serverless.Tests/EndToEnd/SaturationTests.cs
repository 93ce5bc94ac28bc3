using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using Serverless.Relay.Relaying;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>The relay of <see cref="SaturationTests"/>: two relayed requests at once.</summary>
public sealed class SaturatedRelay(AzuriteFixture azurite)
    : OneAccountRelay(azurite, new Dictionary<string, string?> { ["Relay:MaxConcurrentRequests"] = Bound.ToString() })
{
    public const int Bound = 2;
}

/// <summary>
/// Issue 11, "a saturated relay sheds with 503 + Retry-After": an instance serves at most
/// <c>Relay:MaxConcurrentRequests</c> relayed requests at once; one more is refused at the door in the client API's
/// error shape, before its key or body is read and without reaching an upstream, while the requests already admitted
/// finish; every way a request ends gives its place back.
/// </summary>
public sealed class SaturationTests : IClassFixture<SaturatedRelay>, IDisposable
{
    private const string SaturatedMessage = "The relay is serving as many requests as it is configured for; retry shortly.";

    private readonly SaturatedRelay _fixture;
    private readonly RelayHost _relay;
    private readonly LoopbackUpstream _upstream;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly MeterListener _listener = new();
    private long _shedForConcurrency;

    public SaturationTests(SaturatedRelay relay)
    {
        _fixture = relay;
        _relay = relay.Host;
        _upstream = relay.Upstream;
        _upstream.Reset();

        // NOTE: every relay in the test process reports to a meter of the same name; only this class's relay is bounded
        // low enough to shed for concurrency.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "relay.requests.shed")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "relay.shed.reason", Value: "concurrency" })
                {
                    Interlocked.Add(ref _shedForConcurrency, value);
                }
            }
        });
        _listener.Start();
    }

    public void Dispose()
    {
        _release.TrySetResult();
        _listener.Dispose();
    }

    private InFlightRequests InFlight => _relay.Services.GetRequiredService<InFlightRequests>();

    [Theory]
    [InlineData("openai-chat", "service_unavailable")]
    [InlineData("anthropic", "api_error")]
    [InlineData("gemini", "UNAVAILABLE")]
    public async Task Relay_AtItsBound_ShedsTheNextRequestWith503InClientShape_AndFinishesThoseItAdmitted(string client, string type)
    {
        var ct = TestContext.Current.CancellationToken;
        _upstream.Script = new UpstreamScript { BeforeAnswer = held => _release.Task.WaitAsync(held) };
        var admitted = new[] { PostAsync("openai-chat", Body("openai-chat", stream: false), ct), PostAsync("openai-chat", Body("openai-chat", stream: true), ct) };
        await Eventually.ValueAsync("both requests held at the upstream", _ => Task.FromResult(_upstream.Requests.Count), hits => hits == SaturatedRelay.Bound);
        Assert.Equal(SaturatedRelay.Bound, InFlight.Count);

        var (refused, response) = await _fixture.SendRefusedChatAsync(client, new ByteArrayContent(Body(client, stream: false)));

        Assert.Equal(503, refused.Status);
        Assert.Equal(type, refused.Type);
        Assert.Equal(SaturatedMessage, refused.Message);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Equal(SaturatedRelay.Bound, _upstream.Requests.Count); // the refused request never reached the upstream
        Assert.True(Interlocked.Read(ref _shedForConcurrency) >= 1, "the shed is counted by its reason");

        // The admitted requests were not timed out or cut: released, both finish whole, and their places come back.
        _release.SetResult();
        var answers = await Task.WhenAll(admitted);
        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.OK, answer.Status));
        Assert.Contains("[DONE]", answers[1].Body, StringComparison.Ordinal);
        await Eventually.ValueAsync("every place given back", _ => Task.FromResult(InFlight.Count), count => count == 0);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, Body(client, stream: false), ct)).Status);
    }

    [Fact]
    public async Task Relay_EveryWayARequestEnds_GivesItsPlaceBack()
    {
        var ct = TestContext.Current.CancellationToken;

        // Answered, streamed, refused by the upstream, refused by the relay (unknown key, not JSON).
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("openai-chat", Body("openai-chat", stream: false), ct)).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("openai-chat", Body("openai-chat", stream: true), ct)).Status);
        _upstream.Script = new UpstreamScript { FailStatus = 400 };
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("openai-chat", Body("openai-chat", stream: false), ct)).Status);
        _upstream.Reset();
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync("openai-chat", Body("openai-chat", stream: false), ct, key: "sk-relay-unknown")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("openai-chat", Encoding.UTF8.GetBytes("{\"model\": "), ct)).Status);
        await Eventually.ValueAsync("every place given back", _ => Task.FromResult(InFlight.Count), count => count == 0);

        // Clients that leave while the upstream holds their requests.
        _upstream.Script = new UpstreamScript { Hang = true };
        using (var leaving = new CancellationTokenSource())
        {
            var left = new[] { PostAsync("openai-chat", Body("openai-chat", stream: true), leaving.Token), PostAsync("anthropic", Body("anthropic", stream: false), leaving.Token) };
            await Eventually.ValueAsync("the upstream holding both", _ => Task.FromResult(_upstream.Requests.Count), hits => hits == 2);
            Assert.Equal(SaturatedRelay.Bound, InFlight.Count);
            await leaving.CancelAsync();
            foreach (var request in left)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
            }
        }

        await Eventually.ValueAsync("the left requests' places given back", _ => Task.FromResult(InFlight.Count), count => count == 0);
        _upstream.Reset();
        var again = await Task.WhenAll(PostAsync("openai-chat", Body("openai-chat", stream: false), ct), PostAsync("gemini", Body("gemini", stream: false), ct));
        Assert.All(again, answer => Assert.Equal(HttpStatusCode.OK, answer.Status));
    }

    [Fact]
    public async Task Relay_Shedding_OfficialOpenAISdkRetriesAfterRetryAfterAndIsAnswered()
    {
        var ct = TestContext.Current.CancellationToken;
        _upstream.Script = new UpstreamScript { BeforeAnswer = held => _release.Task.WaitAsync(held) };
        var admitted = new[] { PostAsync("openai-chat", Body("openai-chat", stream: false), ct), PostAsync("openai-chat", Body("openai-chat", stream: false), ct) };
        await Eventually.ValueAsync("both requests held at the upstream", _ => Task.FromResult(_upstream.Requests.Count), hits => hits == SaturatedRelay.Bound);
        var shedBefore = Interlocked.Read(ref _shedForConcurrency);

        // The SDK's own retry policy (three retries, honouring Retry-After): its first attempt is shed; the places free
        // up once that shed is seen, so a retry is admitted.
        var sdk = new ChatClient("m", new ApiKeyCredential(_fixture.Key), new OpenAIClientOptions
        {
            Endpoint = new Uri(_relay.BaseUri, "v1"),
            RetryPolicy = new ClientRetryPolicy(3),
        });
        var completion = sdk.CompleteChatAsync([new UserChatMessage("hello")], cancellationToken: ct);
        await Eventually.ValueAsync("the SDK's first attempt shed", _ => Task.FromResult(Interlocked.Read(ref _shedForConcurrency)), shed => shed > shedBefore);
        _release.SetResult();

        var answer = await completion.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(200, answer.GetRawResponse().Status);
        Assert.False(string.IsNullOrEmpty(answer.Value.Content[0].Text));
        Assert.All(await Task.WhenAll(admitted), held => Assert.Equal(HttpStatusCode.OK, held.Status));
    }

    private static byte[] Body(string client, bool stream) => OneAccountRelay.ChatBody(client, "hello", stream);

    private Task<(HttpStatusCode Status, string Body)> PostAsync(string client, byte[] body, CancellationToken ct, string? key = null) =>
        _fixture.PostChatAsync(client, new ByteArrayContent(body), ct, key);
}
