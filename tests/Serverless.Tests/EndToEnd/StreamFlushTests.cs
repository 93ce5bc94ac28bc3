using System.Diagnostics;
using System.Text.RegularExpressions;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>Events reach the client as the upstream sends them: nothing is buffered on the way, translated or not.</summary>
[Collection(ScriptedCollection.Name)]
public sealed class StreamFlushTests
{
    private readonly RelayWithUpstreams _relay;

    public StreamFlushTests(RelayWithUpstreams relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    private static readonly ClientDriver[] Clients = [new OpenAIChatDriver(), new ResponsesDriver(), new AnthropicDriver(), new GeminiDriver()];

    [Theory]
    [InlineData("openai-chat", "openai")]
    [InlineData("anthropic", "anthropic")]
    [InlineData("gemini", "gemini")]
    [InlineData("openai-responses", "openai")]
    [InlineData("anthropic", "openai")]
    [InlineData("openai-chat", "anthropic")]
    [InlineData("gemini", "azure-openai")]
    [InlineData("openai-responses", "gemini")]
    public async Task Stream_UpstreamSendsEachWordOnlyAfterTheClientSawThePrevious_AllWordsArrive(string clientName, string provider)
    {
        // The upstream holds word N until the client has seen word N-1. A relay that buffered anything (a whole
        // stream, a few events, bytes short of a buffer size) would leave the client waiting for word N-1 while the
        // upstream waits for the client: the gate times out and names the word that was held back. No clock involved.
        var ct = TestContext.Current.CancellationToken;
        var seen = Enumerable.Range(0, Words).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var heldBack = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _relay.Upstream.Script = new UpstreamScript
        {
            ReplyWords = Words,
            BeforeContentEvent = async (sent, token) =>
            {
                if (sent == 0 || sent >= Words)
                {
                    return;
                }

                try
                {
                    await seen[sent - 1].Task.WaitAsync(GateTimeout, token);
                }
                catch (TimeoutException)
                {
                    heldBack.TrySetResult($"the upstream waited {GateTimeout.TotalSeconds} s to send w{sent + 1}: the client never saw w{sent}, the relay held it back");
                    throw;
                }
            },
        };
        try
        {
            var client = Clients.Single(c => c.Name == clientName);
            using var http = _relay.Host.CreateClient();
            using var request = client.Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), stream: true, _relay.Key);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
            var events = new List<string>();
            try
            {
                await foreach (var arrived in SseArrivals.ReadAsync(response, Stopwatch.StartNew(), ct).WithCancellation(ct))
                {
                    events.Add(arrived.Data);
                    for (var word = 0; word < Words; word++)
                    {
                        if (Regex.IsMatch(arrived.Data, $@"\bw{word + 1}\b"))
                        {
                            seen[word].TrySetResult();
                        }
                    }
                }
            }
            catch (Exception e) when (heldBack.Task.IsCompleted && e is HttpRequestException or IOException)
            {
                // The upstream gave up and the relay cut the stream; the reason is reported below.
            }

            if (heldBack.Task.IsCompleted)
            {
                Assert.Fail(await heldBack.Task);
            }

            Assert.All(seen, (word, i) => Assert.True(word.Task.IsCompleted, $"w{i + 1} never arrived; events: {string.Join(" | ", events)}"));
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }

    private const int Words = 5;

    private static readonly TimeSpan GateTimeout = TimeSpan.FromSeconds(10);
}
