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
    public async Task Stream_UpstreamEvents150msApart_ArriveSpreadTheSameWay(string clientName, string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        _relay.Upstream.Script = new UpstreamScript { EventDelay = TimeSpan.FromMilliseconds(150), ReplyWords = 5 };
        try
        {
            var client = Clients.Single(c => c.Name == clientName);
            using var http = _relay.Host.CreateClient();
            using var request = client.Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), stream: true, _relay.Key);
            var clock = Stopwatch.StartNew();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
            var firstSeen = new TimeSpan?[5];
            await foreach (var arrived in SseArrivals.ReadAsync(response, clock, ct).WithCancellation(ct))
            {
                for (var word = 0; word < firstSeen.Length; word++)
                {
                    if (firstSeen[word] is null && Regex.IsMatch(arrived.Data, $@"\bw{word + 1}\b"))
                    {
                        firstSeen[word] = arrived.At;
                    }
                }
            }

            Assert.All(firstSeen, at => Assert.NotNull(at));
            var gaps = firstSeen.Zip(firstSeen.Skip(1), (a, b) => (b!.Value - a!.Value).TotalMilliseconds).ToArray();

            // A relay that buffered would deliver the words together (gaps near 0). On a busy machine scheduling
            // jitter moves single events by 100 ms or more, so the checks are on the median gap and the total spread.
            var shown = string.Join(", ", gaps.Select(g => g.ToString("0", System.Globalization.CultureInfo.InvariantCulture)));
            Assert.True(gaps.Order().ElementAt(gaps.Length / 2) >= 100, $"gaps {shown} ms: the relay held events back");
            Assert.True(gaps.Sum() >= 450, $"gaps {shown} ms: the words arrived closer together than they were sent");
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }
}
