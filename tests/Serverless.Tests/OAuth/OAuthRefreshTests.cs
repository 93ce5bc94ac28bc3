using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Serverless.Handler.Hosting;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Sessions;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.OAuth;

public sealed class OAuthRefreshTests(AzuriteFixture azurite)
{
    private static object OAuthAccount(LoopbackUpstream upstream, TokenServer tokens, DateTimeOffset expiresAt, string format = "form") => new
    {
        name = "oauth account",
        provider = "openai",
        baseUrl = upstream.OpenAIBaseUrl,
        models = new[] { "m" },
        oauth = new { accessToken = "at-0", refreshToken = "rt-0", expiresAt, tokenUrl = tokens.TokenUrl, clientId = "client-1", clientSecret = "cs", requestFormat = format },
    };

    [Theory]
    [InlineData("form", "application/x-www-form-urlencoded")]
    [InlineData("json", "application/json; charset=utf-8")]
    public async Task Relay_TokenNearExpiry_RefreshedOnceBeforeUse(string format, string contentType)
    {
        await using var tokens = await TokenServer.StartAsync();
        await using var upstream = await LoopbackUpstream.StartAsync(TestContext.Current.CancellationToken);
        tokens.OnIssued = token => upstream.ApiKey = token;
        await using var host = await RelayHost.StartAsync(azurite);
        var id = await host.CreateAccountAsync(OAuthAccount(upstream, tokens, DateTimeOffset.UtcNow.AddMinutes(1), format));
        var key = await host.CreateKeyAsync();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, (await ChatAsync(host.BaseUri, key)).Status);
        }

        Assert.Equal(1, tokens.Calls);
        Assert.Equal([contentType], tokens.ContentTypes);
        Assert.Equal("Bearer at-1", upstream.LastRequest.Headers["Authorization"]);
        var view = await host.Admin.GetStringAsync("api/admin/accounts/" + id, TestContext.Current.CancellationToken);
        Assert.DoesNotContain("at-1", view, StringComparison.Ordinal);
        Assert.DoesNotContain("rt-1", view, StringComparison.Ordinal);
        var oauth = JsonDocument.Parse(view).RootElement.GetProperty("oauth");
        Assert.True(oauth.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(50));
    }

    [Fact]
    public async Task Relay_TokenValid_UsedWithoutRefresh()
    {
        await using var tokens = await TokenServer.StartAsync();
        await using var upstream = await LoopbackUpstream.StartAsync(TestContext.Current.CancellationToken);
        upstream.ApiKey = "at-0";
        await using var host = await RelayHost.StartAsync(azurite);
        await host.CreateAccountAsync(OAuthAccount(upstream, tokens, DateTimeOffset.UtcNow.AddHours(1)));

        Assert.Equal(200, (await ChatAsync(host.BaseUri, await host.CreateKeyAsync())).Status);

        Assert.Equal(0, tokens.Calls);
        Assert.Equal("Bearer at-0", upstream.LastRequest.Headers["Authorization"]);
    }

    /// <summary>
    /// Storage hanging once the token's cache life (half a second here) is over: the token in memory is still valid, so
    /// the request uses it at once. Before, the request read the row first, waited out the storage calls and failed.
    /// </summary>
    [Fact]
    public async Task Relay_StorageHangsPastTheTokensCacheLife_ValidTokenInMemoryUsedAtOnce()
    {
        await using var tokens = await TokenServer.StartAsync();
        await using var upstream = await LoopbackUpstream.StartAsync(TestContext.Current.CancellationToken);
        upstream.ApiKey = "at-0";
        await using var proxy = StorageProxy.Start(azurite.TablePort);
        await using var host = await RelayHost.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = proxy.Through(azurite.ConnectionString),
            ["OAuth:CacheTtl"] = "00:00:00.500",
        });
        await host.CreateAccountAsync(OAuthAccount(upstream, tokens, DateTimeOffset.UtcNow.AddHours(1)));
        var key = await host.CreateKeyAsync();
        Assert.Equal(200, (await ChatAsync(host.BaseUri, key)).Status);

        proxy.Mode = StorageMode.Hang;
        int status;
        string body;
        TimeSpan took;
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(700), TestContext.Current.CancellationToken);
            var started = DateTime.UtcNow;
            (status, body) = await ChatAsync(host.BaseUri, key);
            took = DateTime.UtcNow - started;
        }
        finally
        {
            proxy.Mode = StorageMode.Forward; // so the host can write what it holds when it stops
        }

        Assert.True(status == 200, $"{status}: {body}");
        Assert.True(took < TimeSpan.FromSeconds(3), $"the request took {took} with storage hanging");
        Assert.Equal("Bearer at-0", upstream.LastRequest.Headers["Authorization"]);
        Assert.Equal(0, tokens.Calls);
    }

    [Fact]
    public async Task RefreshTokens_HostedModeJsonProtocol_RefreshesTokensInItsWindowOnly()
    {
        await using var tokens = await TokenServer.StartAsync();
        await using var upstream = await LoopbackUpstream.StartAsync(TestContext.Current.CancellationToken);
        var (app, baseUri) = await StartHostedAsync();
        await using var running = app;
        using var client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RelayHost.AdminKey);
        var due = await AdminApi.CreateAccountAsync(client, OAuthAccount(upstream, tokens, DateTimeOffset.UtcNow.AddMinutes(20)));
        await AdminApi.CreateAccountAsync(client, OAuthAccount(upstream, tokens, DateTimeOffset.UtcNow.AddHours(2)));

        using var answer = await client.PostAsync(
            "RefreshTokens",
            new StringContent("""{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2025-01-01T00:00:00+00:00","Next":"2025-01-01T00:05:00+00:00","LastUpdated":"2025-01-01T00:00:00+00:00"},"IsPastDue":false}},"Metadata":{}}""", Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)answer.StatusCode);
        Assert.Equal("""{"Outputs":{},"Logs":[],"ReturnValue":null}""", await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(1, tokens.Calls);
        var view = JsonDocument.Parse(await client.GetStringAsync("api/admin/accounts/" + due, TestContext.Current.CancellationToken)).RootElement;
        Assert.True(view.GetProperty("oauth").GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(50));
    }

    [Fact]
    public async Task RefreshTokens_RefreshRefused_MarksTheAccountAndRaisesAnEvent()
    {
        await using var tokens = await TokenServer.StartAsync();
        tokens.FailWith = "invalid_grant";
        await using var upstream = await LoopbackUpstream.StartAsync(TestContext.Current.CancellationToken);
        var (app, baseUri) = await StartHostedAsync();
        await using var running = app;
        using var client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RelayHost.AdminKey);
        var id = await AdminApi.CreateAccountAsync(client, OAuthAccount(upstream, tokens, DateTimeOffset.UtcNow.AddMinutes(1)));

        using var answer = await client.PostAsync("RefreshTokens", new StringContent("""{"Data":{"timer":"{\"IsPastDue\":true}"},"Metadata":{}}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)answer.StatusCode);
        var view = JsonDocument.Parse(await client.GetStringAsync("api/admin/accounts/" + id, TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("disabled", view.GetProperty("health").GetProperty("status").GetString());
        Assert.Equal("the token endpoint answered 400 (invalid_grant)", view.GetProperty("oauth").GetProperty("lastRefreshError").GetString());
        var events = JsonDocument.Parse(await client.GetStringAsync("api/admin/accounts/events", TestContext.Current.CancellationToken)).RootElement.GetProperty("data");
        Assert.Equal("the token endpoint answered 400 (invalid_grant)", Assert.Single(events.EnumerateArray()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Relay_TwoProcessesRaceToRefreshOneAccount_ExactlyOneRefreshCall()
    {
        await using var tokens = await TokenServer.StartAsync();
        tokens.Delay = TimeSpan.FromMilliseconds(700);
        await using var upstream = await LoopbackUpstream.StartAsync(TestContext.Current.CancellationToken);
        tokens.OnIssued = token => upstream.ApiKey = token;
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_TABLE_PREFIX"] = "o" + Guid.NewGuid().ToString("N")[..10],
            ["RELAY_ADMIN_KEY"] = RelayHost.AdminKey,
            ["RELAY_ENCRYPTION_KEYS"] = "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["OAuth__LeasePollInterval"] = "00:00:00.050",
        };
        var ports = new[] { HandlerProcess.FreePort(), HandlerProcess.FreePort() };
        await using var first = await HandlerProcess.StartAsync(ports[0], new Dictionary<string, string>(settings) { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports[0]}" }, TimeSpan.FromSeconds(60));
        await using var second = await HandlerProcess.StartAsync(ports[1], new Dictionary<string, string>(settings) { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports[1]}" }, TimeSpan.FromSeconds(60));
        using var admin = new HttpClient { BaseAddress = first.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RelayHost.AdminKey);
        await AdminApi.CreateAccountAsync(admin, OAuthAccount(upstream, tokens, DateTimeOffset.UtcNow.AddMinutes(1), "json"));
        var (_, key) = await AdminApi.CreateKeyAsync(admin, new { name = "k" });

        var answers = await Task.WhenAll(
            ChatAsync(first.BaseUri, key), ChatAsync(second.BaseUri, key), ChatAsync(first.BaseUri, key), ChatAsync(second.BaseUri, key));

        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.Equal(1, tokens.Calls);
        Assert.All(upstream.Requests, r => Assert.Equal("Bearer at-1", r.Headers["Authorization"]));
    }

    /// <summary>The handler in-process as the Functions host starts it (custom-handler mode, its port).</summary>
    private async Task<(WebApplication App, Uri BaseUri)> StartHostedAsync()
    {
        var port = HandlerProcess.FreePort();
        var app = HandlerApp.Build([], builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_TABLE_PREFIX"] = "h" + Guid.NewGuid().ToString("N")[..10],
            ["RELAY_ADMIN_KEY"] = RelayHost.AdminKey,
            ["RELAY_ENCRYPTION_KEYS"] = "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["RELAY_APP_ROOT"] = AppContext.BaseDirectory,
            ["Logging:LogLevel:Default"] = "Warning",
        }));
        await app.StartAsync(TestContext.Current.CancellationToken);
        return (app, new Uri($"http://127.0.0.1:{port}/"));
    }

    private static async Task<(int Status, string Body)> ChatAsync(Uri baseUri, string key)
    {
        using var client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await client.PostAsync("v1/chat/completions", new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
