using System.Security.Cryptography;
using System.Text.Json;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Hosting;

/// <summary>The real executable, started as the Functions host and as a user start it.</summary>
public sealed class HandlerProcessTests(AzuriteFixture azurite)
{
    private Dictionary<string, string> Settings() => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["RELAY_TABLE_PREFIX"] = "p" + Guid.NewGuid().ToString("N")[..10],
        ["RELAY_ADMIN_KEY"] = "process-admin-key",
        ["RELAY_ENCRYPTION_KEYS"] = "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
    };

    [Fact]
    public async Task CustomHandlerMode_ListensOnGivenPort_ServesProbeAndFunctionRoutes()
    {
        var port = HandlerProcess.FreePort();
        var settings = Settings();
        settings["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["ASPNETCORE_URLS"] = "http://127.0.0.1:1"; // must be ignored: the host decides the port

        await using var handler = await HandlerProcess.StartAsync(port, settings, TimeSpan.FromSeconds(30));
        using var client = new HttpClient { BaseAddress = handler.BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.PostAsync("v1/chat/completions", new StringContent("{}"), TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        TestContext.Current.SendDiagnosticMessage($"custom-handler mode ready after {handler.ReadyAfter.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task LocalMode_AspNetCoreUrls_OverridesDefaultAddress()
    {
        var port = HandlerProcess.FreePort();
        var settings = Settings();
        settings["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";

        await using var handler = await HandlerProcess.StartAsync(port, settings, TimeSpan.FromSeconds(30));
        using var client = new HttpClient { BaseAddress = handler.BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.GetAsync("/", TestContext.Current.CancellationToken);

        Assert.True(response.IsSuccessStatusCode);
        Assert.Contains("Local mode", handler.Output, StringComparison.Ordinal);
    }
}
