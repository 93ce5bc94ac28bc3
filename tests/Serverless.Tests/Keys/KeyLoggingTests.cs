using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Keys;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Keys;

/// <summary>Issue 8: a relay key sent as <c>?key=</c> was printed to stdout by the framework's request log.</summary>
public sealed class KeyLoggingTests(AzuriteFixture azurite)
{
    private const string AdminRoot = "api/admin/";

    [Fact]
    public async Task HandlerOutput_KeysInQueryHeadersAndAdminKey_NeverLogged()
    {
        var ct = TestContext.Current.CancellationToken;
        var adminKey = "admin-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var encryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        await using var upstream = await LoopbackUpstream.StartAsync(ct);
        upstream.ApiKey = "upstream-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var port = HandlerProcess.FreePort();
        await using var handler = await HandlerProcess.StartAsync(port, new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_TABLE_PREFIX"] = "log" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)),
            ["RELAY_ADMIN_KEY"] = adminKey,
            ["RELAY_ENCRYPTION_KEYS"] = "k1=" + encryptionKey,
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Logging__LogLevel__Default"] = "Information",
        }, TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = handler.BaseUri, Timeout = TimeSpan.FromSeconds(30) };

        using var account = await SendAsync(http, HttpMethod.Post, AdminRoot + "accounts?key=" + adminKey, $$"""{"name":"g","provider":"gemini","baseUrl":"{{upstream.GeminiBaseUrl}}","apiKey":"{{upstream.ApiKey}}","models":["m"]}""", ("Authorization", "Bearer " + adminKey));
        Assert.True(account.IsSuccessStatusCode, await account.Content.ReadAsStringAsync(ct));
        using var created = await SendAsync(http, HttpMethod.Post, AdminRoot + "keys", """{"name":"k"}""", ("x-api-key", adminKey));
        var relayKey = JsonDocument.Parse(await created.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("key").GetString()!;
        var unknownKey = ClientKeySecret.Generate().Plaintext;
        const string Body = """{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}""";

        using var byQuery = await SendAsync(http, HttpMethod.Post, "v1beta/models/m:generateContent?key=" + relayKey, Body);
        using var byHeader = await SendAsync(http, HttpMethod.Post, "v1beta/models/m:streamGenerateContent?alt=sse", Body, ("x-goog-api-key", relayKey));
        using var byBearer = await SendAsync(http, HttpMethod.Post, "v1/chat/completions", """{"model":"m","messages":[{"role":"user","content":"hi"}]}""", ("Authorization", "Bearer " + relayKey));
        using var unknownByQuery = await SendAsync(http, HttpMethod.Get, "v1beta/models?key=" + unknownKey, null);
        using var listByQuery = await SendAsync(http, HttpMethod.Get, "v1/models?key=" + relayKey, null);

        Assert.Equal(200, (int)byQuery.StatusCode);
        Assert.Equal(200, (int)byHeader.StatusCode);
        Assert.Equal(200, (int)byBearer.StatusCode);
        Assert.Equal(401, (int)unknownByQuery.StatusCode);
        Assert.Equal(200, (int)listByQuery.StatusCode);
        var output = handler.Output;
        Assert.Contains("POST /v1beta/models/m:generateContent answered 200", output, StringComparison.Ordinal); // requests are logged, by path
        foreach (var secret in new[] { relayKey, relayKey[^20..], unknownKey[^20..], adminKey, upstream.ApiKey, encryptionKey })
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string? body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await http.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30));
    }
}
