using System.Net.Http.Headers;
using System.Text;
using Serverless.Relay.Admin;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Admin;

/// <summary>Hostile admin input answered in the admin error shape, never a 500, a 503 or an echoed credential.</summary>
public sealed class AdminFaultTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private const string NameMessage = "name must be a non-empty string of at most 200 characters without '/', '\\', '#', '?' or control characters";
    private RelayHost _host = null!;

    public async ValueTask InitializeAsync() =>
        _host = await RelayHost.StartAsync(azurite, StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("adminfault")), new ManualTimeProvider()).WaitAsync(Timeout);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [Theory]
    [InlineData("POST", "api/admin/accounts")]
    [InlineData("POST", "api/admin/keys")]
    [InlineData("PUT", "api/admin/pricing")]
    public async Task Write_BodyOverTheLimit_413InTheAdminShape(string method, string path)
    {
        var body = "{\"name\":\"" + new string('x', AdminBody.MaxBytes) + "\"}";

        var answer = await SendBytesAsync(new HttpMethod(method), path, Encoding.UTF8.GetBytes(body));

        Assert.Equal(413, answer.Status);
        Assert.Equal("request body is larger than 1024 KB", answer.ErrorMessage);
        Assert.Equal("invalid_request_error", answer.Json.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Write_ChunkedBodyOverTheLimit_413InTheAdminShape()
    {
        // No Content-Length: the limit is found while reading.
        var ct = TestContext.Current.CancellationToken;
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/admin/keys")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"name\":\"" + new string('x', AdminBody.MaxBytes) + "\"}"))),
        };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "admin-secret");

        using var http = _host.CreateClient();
        using var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
        var answer = new RelayAnswer((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct), response);

        Assert.Equal(413, answer.Status);
        Assert.Equal("request body is larger than 1024 KB", answer.ErrorMessage);
    }

    [Theory]
    [InlineData("POST", "api/admin/keys", """{"name":"\ud800"}""", "name")]
    [InlineData("POST", "api/admin/keys", """{"name":"ok","owner":"a\udc00b"}""", "owner")]
    [InlineData("POST", "api/admin/accounts", """{"name":"a","provider":"openai","apiKey":"k","models":["m","\ud83d"]}""", "models[1]")]
    [InlineData("POST", "api/admin/models", """{"name":"g","targets":[{"provider":"openai","upstreamModel":"\udfff"}]}""", "targets[0].upstreamModel")]
    [InlineData("PATCH", "api/admin/keys/key_0000000000000000", """{"name":"\ud800x"}""", "name")]
    [InlineData("PUT", "api/admin/pricing", """{"prices":[{"model":"\ud800","input":1,"output":1}]}""", "prices[0].model")]
    [InlineData("POST", "api/admin/oauth/authorize", """{"provider":"\ud800"}""", "provider")]
    public async Task Write_LoneSurrogate_400NamingTheField(string method, string path, string body, string field)
    {
        var answer = await SendBytesAsync(new HttpMethod(method), path, Encoding.UTF8.GetBytes(body));

        Assert.Equal(400, answer.Status);
        Assert.Equal($"{field} holds text that is not valid UTF-8 (or a lone surrogate)", answer.ErrorMessage);
        Assert.Equal(field, answer.ErrorParam);
    }

    [Theory]
    [InlineData("api/admin/keys", "name")]
    [InlineData("api/admin/accounts", "name")]
    public async Task Write_InvalidUtf8_400NamingTheField(string path, string field)
    {
        byte[] body = [.. "{\"name\":\"a"u8, 0xFF, 0xFE, .. "\",\"provider\":\"openai\",\"apiKey\":\"k\",\"models\":[\"m\"]}"u8];

        var answer = await SendBytesAsync(HttpMethod.Post, path, body);

        Assert.Equal(400, answer.Status);
        Assert.Equal($"{field} holds text that is not valid UTF-8 (or a lone surrogate)", answer.ErrorMessage);
        Assert.Equal(field, answer.ErrorParam);
    }

    [Fact]
    public async Task Write_InvalidUtf8InAPropertyName_400()
    {
        byte[] body = [.. "{\"a"u8, 0xC3, .. "\":1}"u8];

        var answer = await SendBytesAsync(HttpMethod.Post, "api/admin/keys", body);

        Assert.Equal(400, answer.Status);
        Assert.Equal("body holds text that is not valid UTF-8 (or a lone surrogate)", answer.ErrorMessage);
    }

    [Theory]
    [InlineData("a#b")]
    [InlineData("a\\\\b")]
    [InlineData("a/b")]
    [InlineData("a?b")]
    [InlineData("a\\u0001b")]
    [InlineData("a\\tb")]
    [InlineData("a\\u007fb")]
    public async Task CreateGroup_NameStorageForbids_400NamingTheField(string jsonName)
    {
        var answer = await SendBytesAsync(HttpMethod.Post, "api/admin/models", Encoding.UTF8.GetBytes(
            $$"""{"name":"{{jsonName}}","targets":[{"provider":"openai","upstreamModel":"gpt-4o"}]}"""));

        Assert.Equal(400, answer.Status);
        Assert.Equal(NameMessage, answer.ErrorMessage);
        Assert.Equal("name", answer.ErrorParam);
    }

    [Theory]
    [InlineData("GET", "a%23b")]
    [InlineData("DELETE", "a%3Fb")]
    [InlineData("GET", "a%5Cb")]
    [InlineData("GET", "a%01b")]
    public async Task GroupByName_NameStorageForbids_404NotStorageError(string method, string escapedName)
    {
        var answer = await SendBytesAsync(new HttpMethod(method), "api/admin/models/" + escapedName, null);

        Assert.Equal(404, answer.Status);
        Assert.StartsWith("no model group is named", answer.ErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://user:pass@upstream.example/v1")]
    [InlineData("https://token@upstream.example/")]
    public async Task CreateAccount_BaseUrlWithUserinfo_400WithoutEchoingIt(string baseUrl)
    {
        var answer = await SendBytesAsync(HttpMethod.Post, "api/admin/accounts", Encoding.UTF8.GetBytes(
            $$"""{"name":"a","provider":"openai-compatible","apiKey":"k","models":["m"],"baseUrl":"{{baseUrl}}"}"""));

        Assert.Equal(400, answer.Status);
        Assert.Equal("baseUrl must not contain credentials (user:password@); send the key as apiKey", answer.ErrorMessage);
        Assert.Equal("baseUrl", answer.ErrorParam);
        Assert.DoesNotContain("pass", answer.Body.Replace("password@", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("token", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpdateAccount_BaseUrlWithUserinfo_400()
    {
        var created = await SendBytesAsync(HttpMethod.Post, "api/admin/accounts", """{"name":"a","provider":"openai","apiKey":"k","models":["m"]}"""u8.ToArray());
        var id = created.Json.GetProperty("id").GetString();

        var answer = await SendBytesAsync(HttpMethod.Patch, "api/admin/accounts/" + id, """{"baseUrl":"http://user:pass@host/"}"""u8.ToArray());

        Assert.Equal(400, answer.Status);
        Assert.Equal("baseUrl", answer.ErrorParam);
        var read = await SendBytesAsync(HttpMethod.Get, "api/admin/accounts/" + id, null);
        Assert.DoesNotContain("pass", read.Body, StringComparison.Ordinal);
    }

    private async Task<RelayAnswer> SendBytesAsync(HttpMethod method, string path, byte[]? body)
    {
        var ct = TestContext.Current.CancellationToken;
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "admin-secret");
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        using var http = _host.CreateClient();
        using var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
        return new RelayAnswer((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct), response);
    }
}
