using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Audit;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;
using Serverless.Relay.Relaying;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Issue 11, "the usage queue is bounded and applies back-pressure; it never drops a row": while
/// <c>UsageWriter:Capacity</c> records wait for storage, the relay sheds new requests at the door (503 +
/// <c>Retry-After</c>, the client's error shape, nothing sent upstream) and admits them again once the writer has taken
/// the backlog; every admitted request's row is written. In-process callers (IM channels) meet the same doors.
/// </summary>
public sealed class UsageBacklogTests(AzuriteFixture azurite)
{
    private const string Chat = """{"model":"m","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task Relay_CapacityOfRowsWaitingForStorage_ShedsNewRequestsWith503UntilTheyAreTaken_AndLosesNoRow()
    {
        var ct = TestContext.Current.CancellationToken;
        // Capacity 2, and a writer that lingers 5 s after its first record before writing: rows wait there.
        await using var relay = await RelayHost.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["UsageWriter:Capacity"] = "2",
            ["UsageWriter:BatchLinger"] = "00:00:05",
        });
        await using var upstream = await LoopbackUpstream.StartAsync(ct);
        await relay.CreateLoopbackAccountAsync(upstream, "openai", ["m"]);
        var (keyId, key) = await relay.CreateKeyWithIdAsync();

        var answered = await AnsweredUntilShedAsync(relay, Chat, key, "usage records", ct);
        Assert.Equal(answered, upstream.Requests.Count);

        // An in-process caller (an IM channel) meets the same door.
        using (var inProcess = RelayRequest.Create(await InProcessKeyAsync(relay, key, ct), Hi))
        {
            AssertShed(await relay.Services.GetRequiredService<IRelay>().RelayAsync(inProcess, ct), "usage records");
        }

        Assert.Equal(answered, upstream.Requests.Count);

        // The writer takes the rows after its linger; then the door is open again.
        var rows = await relay.UsageRowsAsync(keyId, answered, TimeSpan.FromSeconds(30));
        Assert.Equal(answered, rows.Count);
        Assert.Equal(200, (await relay.SendAsync(HttpMethod.Post, "v1/chat/completions", Chat, key, ct)).Status);

        rows = await relay.UsageRowsAsync(keyId, answered + 1, TimeSpan.FromSeconds(30));
        Assert.Equal(answered + 1, rows.Count);
        Assert.All(rows, r => Assert.Equal(200, r.GetInt32("Status")));
        Assert.Equal(answered + 1, upstream.Requests.Count);
    }

    /// <summary>
    /// A full audit's bodies wait in the same queue, and are bounded by their bytes: with
    /// <c>UsageWriter:MaxAuditBytes</c> at its least (64 KiB) and the writer lingering, a full-audit key's answered
    /// prompts of 20 KB (the upstream echoes them: about 40 KB a record) pass it, and the key's next request is shed
    /// until the writer has taken them, while a key without a full audit is still served; every admitted request's row
    /// and bodies are written.
    /// </summary>
    [Fact]
    public async Task Relay_FullAuditBodiesWaitingBeyondMaxAuditBytes_ShedsFullAuditRequestsWith503UntilTheyAreWritten_ServesOthers_LosesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await RelayHost.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["UsageWriter:MaxAuditBytes"] = "65536",
            ["UsageWriter:BatchLinger"] = "00:00:05",
        });
        await using var upstream = await LoopbackUpstream.StartAsync(ct);
        await relay.CreateLoopbackAccountAsync(upstream, "openai", ["m"]);
        var (auditedId, audited) = await relay.CreateKeyWithIdAsync(new { name = "full", audit = "full" });
        var plain = await relay.CreateKeyAsync(new { name = "plain" });
        var prompt = $$"""{"model":"m","messages":[{"role":"user","content":"{{new string('x', 20_000)}}"}]}""";

        var answered = await AnsweredUntilShedAsync(relay, prompt, audited, "audit records", ct);
        Assert.Equal(answered, upstream.Requests.Count);

        // In process, the door is the request's: a channel asking for a full audit is shed even on a plain key.
        var inProcess = relay.Services.GetRequiredService<IRelay>();
        var plainKey = await InProcessKeyAsync(relay, plain, ct);
        using (var channelAudited = RelayRequest.Create(plainKey, Hi, audit: AuditMode.Full))
        {
            AssertShed(await inProcess.RelayAsync(channelAudited, ct), "audit records");
        }

        Assert.Equal(answered, upstream.Requests.Count);

        // Requests that keep no bodies are still served, over HTTP and in process.
        Assert.Equal(200, (await relay.SendAsync(HttpMethod.Post, "v1/chat/completions", Chat, plain, ct)).Status);
        using (var unaudited = RelayRequest.Create(plainKey, Hi))
        {
            Assert.Equal(RelayOutcomeKind.Answered, (await inProcess.RelayAsync(unaudited, ct)).Outcome.Kind);
        }

        Assert.Equal(answered + 2, upstream.Requests.Count);

        // Once the writer has taken them (after its linger), every body is in its blob and the door is open again.
        Assert.Equal(answered, (await relay.UsageRowsAsync(auditedId, answered, TimeSpan.FromSeconds(30))).Count);
        var rows = await Eventually.ValueAsync(
            $"{answered} audit rows with their bodies",
            async token => (await relay.SendAsync(HttpMethod.Get, $"api/admin/audit?keyId={auditedId}", ct: token)).Json.GetProperty("data").EnumerateArray().ToList(),
            list => list.Count == answered && list.All(r => r.GetProperty("bodiesStored").GetBoolean()),
            list => $"{list.Count} rows",
            TimeSpan.FromSeconds(30));
        Assert.Equal(answered, rows.Count);
        await Eventually.TrueAsync(
            "the full-audit key's request admitted again",
            async token => (await relay.SendAsync(HttpMethod.Post, "v1/chat/completions", Chat, audited, token)).Status == 200,
            TimeSpan.FromSeconds(30));
    }

    private static ChatRequest Hi => new() { Model = "m", Messages = [new ChatMessage(ChatRole.User, [new TextPart("hi")])] };

    private static async Task<ClientKey> InProcessKeyAsync(RelayHost relay, string plaintext, CancellationToken ct) =>
        (await relay.Services.GetRequiredService<IClientKeyAuthenticator>().AuthenticateAsync(plaintext, ct))!;

    /// <summary>An in-process request shed at a door: refused as unavailable (503, with <c>Retry-After</c>), what waits named.</summary>
    private static void AssertShed(RelayResult result, string waiting)
    {
        Assert.Equal(RelayOutcomeKind.Refused, result.Outcome.Kind);
        Assert.Equal(503, result.Outcome.Status);
        Assert.Equal(ErrorKind.Unavailable, result.Outcome.Error!.Kind);
        Assert.Equal(TimeSpan.FromSeconds(1), result.Outcome.Error.RetryAfter);
        Assert.Contains(waiting, result.Outcome.Error.Message, StringComparison.Ordinal);
        Assert.Null(result.Text);
    }

    /// <summary>
    /// Sends <paramref name="body"/> until the relay sheds one, asserts the shedding answer (503, <c>Retry-After: 1</c>,
    /// what waits named: <paramref name="waiting"/>), and returns how many were answered before it: at least two.
    /// </summary>
    /// <remarks>
    /// NOTE: until two answered requests fall in one linger (at once on a quiet machine; a loaded one may need more),
    /// the next is not shed.
    /// </remarks>
    private static async Task<int> AnsweredUntilShedAsync(RelayHost relay, string body, string key, string waiting, CancellationToken ct)
    {
        var answered = 0;
        RelayAnswer? shed = null;
        for (var i = 0; i < 20 && shed is null; i++)
        {
            var answer = await relay.SendAsync(HttpMethod.Post, "v1/chat/completions", body, key, ct);
            if (answer.Status == 200)
            {
                answered++;
            }
            else
            {
                shed = answer;
            }
        }

        Assert.NotNull(shed);
        Assert.Equal(503, shed.Status);
        Assert.Equal(TimeSpan.FromSeconds(1), shed.Response.Headers.RetryAfter?.Delta);
        Assert.Contains(waiting, shed.ErrorMessage, StringComparison.Ordinal);
        Assert.InRange(answered, 2, 19);
        return answered;
    }
}
