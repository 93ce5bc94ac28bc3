using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Admin;

/// <summary>The operator's <c>RELAY_ADMIN_KEY</c> opens the quota API as an admin-role relay key does.</summary>
public sealed class QuotaAdminKeyTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Quota_OperatorAdminKey_ReadsAndSetsAnyUsersQuota()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await RelayHost.StartAsync(azurite).WaitAsync(Timeout, ct);
        var user = "bob-" + Guid.NewGuid().ToString("N")[..6];
        var (_, bob) = await host.CreateKeyWithIdAsync(new { name = "bob", owner = user, limits = new { rpd = 10 } }).WaitAsync(Timeout, ct);
        using var http = host.CreateClient();

        var put = await CallAsync(http, HttpMethod.Put, $"api/v1/quota/{user}", RelayHost.AdminKey, """{"daily_output_tokens": 500}""");
        var read = await CallAsync(http, HttpMethod.Get, $"api/v1/quota/{user}", RelayHost.AdminKey);
        var own = await CallAsync(http, HttpMethod.Get, "api/v1/quota", bob);

        Assert.Equal(200, put.Status);
        Assert.Equal(200, read.Status);
        Assert.Equal(
            """{"daily_input_tokens":null,"daily_output_tokens":500,"daily_requests":10,"monthly_input_tokens":null,"monthly_output_tokens":null}""",
            read.Body.GetProperty("limits").GetRawText());
        Assert.Equal(own.Body.GetProperty("limits").GetRawText(), read.Body.GetProperty("limits").GetRawText());
    }

    [Fact]
    public async Task Quota_OperatorAdminKeyWithoutUser_400AskingForTheUser()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await RelayHost.StartAsync(azurite).WaitAsync(Timeout, ct);
        using var http = host.CreateClient();

        var answer = await CallAsync(http, HttpMethod.Get, "api/v1/quota", RelayHost.AdminKey);

        Assert.Equal(400, answer.Status);
        Assert.Equal("The admin key belongs to no user: ask for /api/v1/quota/{userId}.", answer.Body.GetProperty("error").GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("wrong-key")]
    [InlineData("test-admin-key-0123456789x")]
    public async Task Quota_WrongKey_401(string key)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await RelayHost.StartAsync(azurite).WaitAsync(Timeout, ct);
        using var http = host.CreateClient();

        var answer = await CallAsync(http, HttpMethod.Get, "api/v1/quota/anyone", key);

        Assert.Equal(401, answer.Status);
    }

    private static async Task<(int Status, JsonElement Body)> CallAsync(HttpClient http, HttpMethod method, string path, string key, string? json = null)
    {
        var ct = TestContext.Current.CancellationToken;
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct)).RootElement.Clone());
    }
}
