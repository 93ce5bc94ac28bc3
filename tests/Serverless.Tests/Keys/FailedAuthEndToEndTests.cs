using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Keys;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Keys;

/// <summary>Issue 8: made-up keys were a cheap way to run up storage reads. An address that keeps failing is slowed down.</summary>
public sealed class FailedAuthEndToEndTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("v1/chat/completions", "Authorization", "error")]
    [InlineData("v1/messages", "x-api-key", "error")]
    [InlineData("v1beta/models/m:generateContent", "x-goog-api-key", "error")]
    public async Task Relay_RepeatedUnknownKeys_429WithRetryAfterInTheClientShape(string path, string header, string errorProperty)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await RelayHost.StartAsync(azurite, new Dictionary<string, string?> { ["FailedAuth:Burst"] = "3" });
        using var client = host.CreateClient();
        var knownKey = await host.CreateKeyAsync();
        using (var warm = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", knownKey) } })
        using (var warmed = await client.SendAsync(warm, ct).WaitAsync(TimeSpan.FromSeconds(30), ct))
        {
            Assert.Equal(200, (int)warmed.StatusCode);
        }

        var statuses = new List<int>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 4; i++)
        {
            last?.Dispose();
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
            var key = ClientKeySecret.Generate().Plaintext;
            if (header == "Authorization")
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
            else
            {
                request.Headers.Add(header, key);
            }

            last = await client.SendAsync(request, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
            statuses.Add((int)last.StatusCode);
        }

        using (last)
        {
            Assert.Equal([401, 401, 401, 429], statuses);
            Assert.True(last!.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            var body = JsonDocument.Parse(await last.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.Equal(JsonValueKind.Object, body.GetProperty(errorProperty).ValueKind);
            Assert.Contains("Too many requests with invalid API keys", body.GetRawText(), StringComparison.Ordinal);
        }

        // A key this instance already knows still works from the throttled address (others behind the same NAT).
        using var known = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", knownKey) } };
        using var stillServed = await client.SendAsync(known, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(200, (int)stillServed.StatusCode);
    }
}
