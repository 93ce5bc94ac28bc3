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

    [Fact]
    public async Task Relay_StreamEventLongerThanTheBound_StreamEndsWithAnError_AccountNotMarked()
    {
        var ct = TestContext.Current.CancellationToken;

        // The upstream echoes the message, one event per word: one word as long as the message makes one event as long.
        var (fits, fitting) = await _relay.PostChatAsync("openai-chat", new ByteArrayContent(OneAccountRelay.ChatBody("openai-chat", new string('f', 900_000), stream: true)), ct);
        var (cut, stream) = await _relay.PostChatAsync("openai-chat", new ByteArrayContent(OneAccountRelay.ChatBody("openai-chat", new string('x', 1_100_000), stream: true)), ct);

        Assert.Equal(HttpStatusCode.OK, fits);
        Assert.Contains(new string('f', 900_000), fitting, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, cut);
        Assert.Contains("An event of the upstream stream is longer than the relay reads (1048576 bytes, Relay__MaxAnswerBytes).", stream, StringComparison.Ordinal);
        Assert.Contains("said: ", stream, StringComparison.Ordinal); // the events before it were relayed
        Assert.True(stream.Length < 100_000, $"the client got {stream.Length} characters");
        var health = await AccountHealthAsync();
        Assert.True(health.GetProperty("lastError").ValueKind == System.Text.Json.JsonValueKind.Null, health.ToString());

        // The only account still serves: the bound is the relay's, not the upstream's fault.
        var (next, answer) = await _relay.PostChatAsync("openai-chat", new ByteArrayContent(OneAccountRelay.ChatBody("openai-chat", "hi")), ct);
        Assert.Equal(HttpStatusCode.OK, next);
        Assert.Contains("You said: hi", answer, StringComparison.Ordinal);
    }

    private async Task<System.Text.Json.JsonElement> AccountHealthAsync()
    {
        var accounts = System.Text.Json.JsonDocument.Parse(await _relay.Host.Admin.GetStringAsync("api/admin/accounts", TestContext.Current.CancellationToken));
        return Assert.Single(accounts.RootElement.GetProperty("data").EnumerateArray()).GetProperty("health").Clone();
    }

    private static string ReadAnswerText(string body) =>
        System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
}
