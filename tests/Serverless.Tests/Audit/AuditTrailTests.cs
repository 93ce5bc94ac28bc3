using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using Serverless.Relay.Storage;
using Serverless.Tests.EndToEnd;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Audit;

/// <summary>
/// The audit trail over real requests: a row per request beside the usage row, whose digests are those of the exact
/// bytes the client sent and got; full bodies for an <c>audit: "full"</c> key, encrypted at rest; the admin API's
/// paging and filters.
/// </summary>
[Collection(MatrixCollection.Name)]
public sealed class AuditTrailTests(RelayWithUpstreams relay)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private RelayHost Host => relay.Host;

    [Fact]
    public async Task Requests_AnswerStreamAndRefusal_RowsHoldDigestsOfTheBytesTheClientSentAndGot()
    {
        var (keyId, key) = await Host.CreateKeyWithIdAsync(new { name = "audited", owner = "audit-owner" });

        var answer = await SendAsync(new AnthropicDriver().Build(Scenario.Text, "m-openai", false, key));
        var stream = await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "m-anthropic", true, key));
        var refused = await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "no-such-model", false, key));
        Assert.Equal([200, 200, 404], new[] { answer.Status, stream.Status, refused.Status });

        var rows = await RowsAsync($"api/admin/audit?keyId={keyId}", 3);

        var byId = rows.ToDictionary(r => r.GetProperty("requestId").GetString()!);
        var answered = byId[answer.RequestId];
        Assert.Equal(Sha256(answer.Sent), answered.GetProperty("requestSha256").GetString());
        Assert.Equal(answer.Sent.Length, answered.GetProperty("requestBytes").GetInt64());
        Assert.Equal(Sha256(answer.Received), answered.GetProperty("responseSha256").GetString());
        Assert.Equal(answer.Received.Length, answered.GetProperty("responseBytes").GetInt64());
        Assert.Equal("audit-owner", answered.GetProperty("owner").GetString());
        Assert.Equal("m-openai", answered.GetProperty("model").GetString());
        Assert.Equal("gpt-test", answered.GetProperty("upstreamModel").GetString());
        Assert.Equal("anthropic", answered.GetProperty("clientApi").GetString());
        Assert.StartsWith("acct_", answered.GetProperty("accountId").GetString(), StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", answered.GetProperty("clientAddress").GetString());
        Assert.False(answered.GetProperty("bodiesStored").GetBoolean());

        // A stream's digest covers every event as it went out.
        var streamed = byId[stream.RequestId];
        Assert.Equal(Sha256(stream.Received), streamed.GetProperty("responseSha256").GetString());
        Assert.Contains("data:", Encoding.UTF8.GetString(stream.Received), StringComparison.Ordinal);
        Assert.Equal(Sha256(stream.Sent), streamed.GetProperty("requestSha256").GetString());

        // A refusal: the request is on record, the error response is not an answer (its status says what happened).
        var refusal = byId[refused.RequestId];
        Assert.Equal(404, refusal.GetProperty("status").GetInt32());
        Assert.Equal(Sha256(refused.Sent), refusal.GetProperty("requestSha256").GetString());
        Assert.Equal(JsonValueKind.Null, refusal.GetProperty("responseSha256").ValueKind);
    }

    [Theory]
    [InlineData("openai-chat", "m-openai", true)]
    [InlineData("anthropic", "m-openai", true)]
    [InlineData("gemini", "m-gemini", false)]
    public async Task LongStream_UpstreamSendsAllAtOnce_EveryWordArrivesOnceInOrder_DigestOfTheBytesTheClientGot(string clientName, string model, bool sse)
    {
        // Far more than the relay gathers before it writes to the client (16 KB), sent without pauses: the events pile
        // up in the relay's reads, so gathered events are handed on both at a flush and when a batch fills up.
        const int words = 3_000;
        var (keyId, key) = await Host.CreateKeyWithIdAsync(new { name = "long-stream" });
        ClientDriver client = clientName switch { "openai-chat" => new OpenAIChatDriver(), "anthropic" => new AnthropicDriver(), _ => new GeminiDriver() };
        using var request = client.Build(Scenario.Text, model, true, key);
        if (!sse)
        {
            // Gemini without alt=sse: one JSON array, framed by the relay.
            request.RequestUri = new Uri(request.RequestUri!.OriginalString.Replace("?alt=sse", "", StringComparison.Ordinal), UriKind.RelativeOrAbsolute);
        }

        relay.Upstream.Script = new UpstreamScript { ReplyWords = words };
        Exchange streamed;
        try
        {
            streamed = await SendAsync(request);
        }
        finally
        {
            relay.Upstream.Reset();
        }

        Assert.Equal(200, streamed.Status);
        var body = Encoding.UTF8.GetString(streamed.Received);
        Assert.True(streamed.Received.Length > 200_000, $"{streamed.Received.Length} bytes");
        var numbers = Regex.Matches(body, @"\bw(\d+)\b").Select(m => int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(1, words), numbers);
        if (!sse)
        {
            Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(streamed.Received).RootElement.ValueKind);
        }

        var row = Assert.Single(await RowsAsync($"api/admin/audit?keyId={keyId}", 1));
        Assert.Equal(Sha256(streamed.Received), row.GetProperty("responseSha256").GetString());
        Assert.Equal(streamed.Received.Length, row.GetProperty("responseBytes").GetInt64());
    }

    [Fact]
    public async Task FullAuditKey_BodiesStoredEncrypted_ReadBackByTheAdminApiAndMatchingTheDigests()
    {
        var (keyId, key) = await Host.CreateKeyWithIdAsync(new { name = "full", audit = "full" });
        var marker = "marker-" + Guid.NewGuid().ToString("N");
        var request = new OpenAIChatDriver().Build(Scenario.Text, "m-gemini", false, key);
        request.Content = new StringContent(
            $$"""{"model":"m-gemini","messages":[{"role":"user","content":"{{marker}}"}]}""", Encoding.UTF8, "application/json");

        var sent = await SendAsync(request);
        Assert.Equal(200, sent.Status);
        var row = Assert.Single(await RowsAsync($"api/admin/audit?keyId={keyId}", 1));
        Assert.True(row.GetProperty("bodiesStored").GetBoolean());

        var detail = await Host.SendAsync(HttpMethod.Get, $"api/admin/audit/{keyId}/{sent.RequestId}", ct: TestContext.Current.CancellationToken);
        Assert.Equal(200, detail.Status);
        var bodies = detail.Json.GetProperty("bodies");
        Assert.Equal(Encoding.UTF8.GetString(sent.Sent), bodies.GetProperty("request").GetString());
        Assert.Equal(Encoding.UTF8.GetString(sent.Received), bodies.GetProperty("response").GetString());
        Assert.True(bodies.GetProperty("requestMatchesDigest").GetBoolean());
        Assert.True(bodies.GetProperty("responseMatchesDigest").GetBoolean());

        // At rest the blob is ciphertext: neither the prompt nor the answer can be read from it.
        var container = new BlobContainerClient(Host.ConnectionString, Host.TablePrefix.ToLowerInvariant() + RelayBlobs.Audit);
        var blobs = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(cancellationToken: TestContext.Current.CancellationToken))
        {
            blobs.Add(blob.Name);
        }

        var name = Assert.Single(blobs, n => n.EndsWith("/" + sent.RequestId, StringComparison.Ordinal));
        var stored = (await container.GetBlobClient(name).DownloadContentAsync(TestContext.Current.CancellationToken)).Value.Content.ToArray();
        Assert.True(stored.Length > sent.Sent.Length);
        Assert.DoesNotContain(marker, Encoding.UTF8.GetString(stored), StringComparison.Ordinal);
        Assert.DoesNotContain(marker, Encoding.Latin1.GetString(stored), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HashesOnlyKey_NoBodiesStored_DetailSaysSo()
    {
        var (keyId, key) = await Host.CreateKeyWithIdAsync(new { name = "hashes" });
        var sent = await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "m-openai", false, key));
        Assert.Single(await RowsAsync($"api/admin/audit?keyId={keyId}", 1));

        var detail = await Host.SendAsync(HttpMethod.Get, $"api/admin/audit/{keyId}/{sent.RequestId}", ct: TestContext.Current.CancellationToken);

        Assert.Equal(200, detail.Status);
        Assert.Equal(JsonValueKind.Null, detail.Json.GetProperty("bodies").ValueKind);
        Assert.Equal(Sha256(sent.Received), detail.Json.GetProperty("responseSha256").GetString());
    }

    [Fact]
    public async Task List_LimitTwo_ContinuationWalksEveryRowOnceInOrder_TimeRangeFilters()
    {
        var (keyId, key) = await Host.CreateKeyWithIdAsync(new { name = "paged" });
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await SendAsync(new OpenAIChatDriver().Build(Scenario.Text, "m-openai", false, key))).RequestId);
        }

        await RowsAsync($"api/admin/audit?keyId={keyId}", 5);

        var walked = new List<string>();
        string? continuation = null;
        var pages = 0;
        do
        {
            var path = $"api/admin/audit?keyId={keyId}&limit=2" + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation));
            var page = await Host.SendAsync(HttpMethod.Get, path, ct: TestContext.Current.CancellationToken);
            Assert.Equal(200, page.Status);
            var data = page.Json.GetProperty("data").EnumerateArray().ToList();
            Assert.True(data.Count <= 2);
            walked.AddRange(data.Select(r => r.GetProperty("requestId").GetString()!));
            continuation = page.Json.GetProperty("continuation").GetString();
            pages++;
        }
        while (continuation is not null && pages < 10);

        // Every row once; in time order to the millisecond (request ids are UUIDv7: within one millisecond their order is random).
        Assert.Equal(ids.Order(StringComparer.Ordinal), walked.Order(StringComparer.Ordinal));
        Assert.Equal(walked.Count, walked.Distinct().Count());
        var millis = walked.Select(id => id.Substring("req_".Length, 12)).ToList();
        Assert.Equal(millis.Order(StringComparer.Ordinal), millis);
        Assert.True(pages >= 3);

        // A range that ends before the first request holds none of them; one from it on holds all.
        var first = DateTimeOffset.Parse((await RowsAsync($"api/admin/audit?keyId={keyId}", 5))[0].GetProperty("startedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var before = await Host.SendAsync(HttpMethod.Get, $"api/admin/audit?keyId={keyId}&to={Uri.EscapeDataString(first.AddMilliseconds(-1).ToString("O"))}", ct: TestContext.Current.CancellationToken);
        Assert.Empty(before.Json.GetProperty("data").EnumerateArray());
        var from = await Host.SendAsync(HttpMethod.Get, $"api/admin/audit?keyId={keyId}&from={Uri.EscapeDataString(first.ToString("O"))}", ct: TestContext.Current.CancellationToken);
        Assert.Equal(5, from.Json.GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("from=yesterday", "from")]
    [InlineData("from=2030-01-02&to=2030-01-01", "from")]
    [InlineData("keyId=not-a-key", "keyId")]
    [InlineData("continuation=%25%25%25", "continuation")]
    public async Task List_BadQuery_400NamingTheParameter(string query, string param)
    {
        var answer = await Host.SendAsync(HttpMethod.Get, "api/admin/audit?" + query, ct: TestContext.Current.CancellationToken);

        Assert.Equal(400, answer.Status);
        Assert.Equal(param, answer.ErrorParam);
    }

    [Fact]
    public async Task Detail_UnknownRequestOrKey_404_AndTheAuditNeedsTheAdminKey()
    {
        var (keyId, key) = await Host.CreateKeyWithIdAsync(new { name = "detail" });
        var unknown = "req_" + Guid.CreateVersion7().ToString("N");

        Assert.Equal(404, (await Host.SendAsync(HttpMethod.Get, $"api/admin/audit/{keyId}/{unknown}", ct: TestContext.Current.CancellationToken)).Status);
        Assert.Equal(404, (await Host.SendAsync(HttpMethod.Get, $"api/admin/audit/{keyId}/not-a-request", ct: TestContext.Current.CancellationToken)).Status);
        Assert.Equal(401, (await Host.SendAsync(HttpMethod.Get, $"api/admin/audit?keyId={keyId}", key: key, ct: TestContext.Current.CancellationToken)).Status);
    }

    [Fact]
    public async Task KeyAuditSetting_DefaultHashes_PatchedToFull_WrongValueRefusedAndNothingChanged()
    {
        var (keyId, _) = await Host.CreateKeyWithIdAsync(new { name = "setting" });
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("hashes", (await Host.SendAsync(HttpMethod.Get, $"api/admin/keys/{keyId}", ct: ct)).Json.GetProperty("audit").GetString());

        var wrong = await Host.SendAsync(HttpMethod.Patch, $"api/admin/keys/{keyId}", """{"audit":"everything","name":"renamed"}""", ct: ct);
        Assert.Equal(400, wrong.Status);
        Assert.Equal("audit", wrong.ErrorParam);
        var unchanged = (await Host.SendAsync(HttpMethod.Get, $"api/admin/keys/{keyId}", ct: ct)).Json;
        Assert.Equal(("hashes", "setting"), (unchanged.GetProperty("audit").GetString(), unchanged.GetProperty("name").GetString()));

        var patched = await Host.SendAsync(HttpMethod.Patch, $"api/admin/keys/{keyId}", """{"audit":"full"}""", ct: ct);
        Assert.Equal(200, patched.Status);
        Assert.Equal("full", (await Host.SendAsync(HttpMethod.Get, $"api/admin/keys/{keyId}", ct: ct)).Json.GetProperty("audit").GetString());
    }

    private async Task<IReadOnlyList<JsonElement>> RowsAsync(string path, int count) =>
        await Eventually.ValueAsync(
            $"{count} audit rows at {path}",
            async ct =>
            {
                var answer = await Host.SendAsync(HttpMethod.Get, path, ct: ct);
                return answer.Status == 200 ? answer.Json.GetProperty("data").EnumerateArray().ToList() : [];
            },
            rows => rows.Count >= count,
            rows => $"{rows.Count} rows",
            Timeout);

    private async Task<Exchange> SendAsync(HttpRequestMessage request)
    {
        var sent = await request.Content!.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        using var http = Host.CreateClient();
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var received = await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        return new Exchange((int)response.StatusCode, response.Headers.GetValues("x-request-id").Single(), sent, received);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private sealed record Exchange(int Status, string RequestId, byte[] Sent, byte[] Received);
}
