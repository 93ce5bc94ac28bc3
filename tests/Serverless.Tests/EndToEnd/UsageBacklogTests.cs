using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Issue 11, "the usage queue is bounded and applies back-pressure; it never drops a row": while
/// <c>UsageWriter:Capacity</c> records wait for storage, the relay sheds new requests at the door (503 +
/// <c>Retry-After</c>, the client's error shape, nothing sent upstream) and admits them again once the writer has taken
/// the backlog; every admitted request's row is written.
/// </summary>
public sealed class UsageBacklogTests(AzuriteFixture azurite)
{
    private const string Chat = """{"model":"m","messages":[{"role":"user","content":"hi"}]}""";
    private const string Messages = """{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task Relay_CapacityOfRowsWaitingForStorage_ShedsNewRequestsWith503UntilTheyAreTaken_AndLosesNoRow()
    {
        var ct = TestContext.Current.CancellationToken;
        // Capacity 2, and a writer that lingers 5 s after its first record before writing: the first two rows wait there.
        await using var relay = await RelayHost.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["UsageWriter:Capacity"] = "2",
            ["UsageWriter:BatchLinger"] = "00:00:05",
        });
        await using var upstream = await LoopbackUpstream.StartAsync(ct);
        await relay.CreateLoopbackAccountAsync(upstream, "openai", ["m"]);
        var (keyId, key) = await relay.CreateKeyWithIdAsync();

        Assert.Equal(200, (await relay.SendAsync(HttpMethod.Post, "v1/chat/completions", Chat, key, ct)).Status);
        Assert.Equal(200, (await relay.SendAsync(HttpMethod.Post, "v1/chat/completions", Chat, key, ct)).Status);

        var shed = await relay.SendAsync(HttpMethod.Post, "v1/chat/completions", Chat, key, ct);
        var shedAnthropic = await relay.SendAsync(HttpMethod.Post, "v1/messages", Messages, key, ct);

        Assert.Equal(503, shed.Status);
        Assert.Equal(TimeSpan.FromSeconds(1), shed.Response.Headers.RetryAfter?.Delta);
        Assert.Contains("usage records", shed.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(503, shedAnthropic.Status);
        Assert.Equal("error", shedAnthropic.Json.GetProperty("type").GetString());
        Assert.Equal(2, upstream.Requests.Count);

        // The writer takes the two rows after its linger; then the door is open again.
        var rows = await relay.UsageRowsAsync(keyId, 2, TimeSpan.FromSeconds(30));
        Assert.Equal(2, rows.Count);
        Assert.Equal(200, (await relay.SendAsync(HttpMethod.Post, "v1/chat/completions", Chat, key, ct)).Status);

        rows = await relay.UsageRowsAsync(keyId, 3, TimeSpan.FromSeconds(30));
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal(200, r.GetInt32("Status")));
        Assert.Equal(3, upstream.Requests.Count);
    }
}
