using System.Net;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>The relay of <see cref="AnswerBoundTests"/>: non-streamed answers read to translate them bound at 1 MiB.</summary>
public sealed class AnswerBoundRelay(AzuriteFixture azurite)
    : OneAccountRelay(azurite, new Dictionary<string, string?> { ["Relay:MaxAnswerBytes"] = Bound.ToString() })
{
    public const long Bound = 1024 * 1024;
}

/// <summary>
/// Issue 11, "memory is bounded by configuration": a non-streamed answer the relay must translate is read whole, so it
/// is read only as far as <c>Relay:MaxAnswerBytes</c>; a longer one is refused (502 in the client's shape) without
/// marking its account, while a same-format answer of the same length passes as it comes.
/// </summary>
public sealed class AnswerBoundTests : IClassFixture<AnswerBoundRelay>
{
    private readonly AnswerBoundRelay _relay;

    public AnswerBoundTests(AnswerBoundRelay relay)
    {
        _relay = relay;
        relay.Upstream.Reset();
    }

    [Fact]
    public async Task Relay_AnswerLongerThanTheBound_TranslatedRefusedWith502_SameFormatRelayedWhole_AccountNotMarked()
    {
        var ct = TestContext.Current.CancellationToken;
        _relay.Upstream.Script = new UpstreamScript { ReplyWords = 200_000 }; // about 1.3 MB of answer

        var (refused, _) = await _relay.SendRefusedChatAsync("anthropic", new ByteArrayContent(OneAccountRelay.ChatBody("anthropic", "hi")));
        var (status, whole) = await _relay.PostChatAsync("openai-chat", new ByteArrayContent(OneAccountRelay.ChatBody("openai-chat", "hi")), ct);

        Assert.Equal(502, refused.Status);
        Assert.Equal("The upstream answer is longer than the relay reads to translate it (Relay__MaxAnswerBytes).", refused.Message);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(whole.Length > AnswerBoundRelay.Bound, $"the same-format answer was {whole.Length} bytes");
        Assert.EndsWith("w200000", ReadAnswerText(whole), StringComparison.Ordinal);

        // The only account still serves: the refusal was the relay's bound, not the upstream's fault.
        _relay.Upstream.Script = new UpstreamScript { ReplyWords = 3 };
        var (small, answer) = await _relay.PostChatAsync("anthropic", new ByteArrayContent(OneAccountRelay.ChatBody("anthropic", "hi")), ct);
        Assert.Equal(HttpStatusCode.OK, small);
        Assert.Contains("w1 w2 w3", answer, StringComparison.Ordinal);
        Assert.Equal(3, _relay.Upstream.Requests.Count);
    }

    private static string ReadAnswerText(string body) =>
        System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
}
