using System.Net.Http.Headers;
using System.Security.Cryptography;
using Azure.Data.Tables;
using Serverless.Relay.Storage;
using Serverless.Tests.EndToEnd;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Hosting;

/// <summary>
/// The published native handler (<see cref="PublishedApp"/>) as its own process in local mode, on the shared Azurite
/// with tables of its own, with <see cref="RelayWithUpstreams.Accounts"/> on a loopback upstream and a key per test.
/// </summary>
public sealed class NativeRelay(PublishedApp app, AzuriteFixture azurite) : IAsyncLifetime
{
    public const string AdminKey = "native-admin-key-0123456789";
    private readonly string _prefix = "n" + Guid.NewGuid().ToString("N")[..12];
    private HandlerProcess _process = null!;

    internal LoopbackUpstream Upstream { get; private set; } = null!;

    internal HttpClient Admin { get; private set; } = null!;

    /// <summary>A client key allowed every model, without limits.</summary>
    public string Key { get; private set; } = "";

    public Uri BaseUri => _process.BaseUri;

    /// <summary>Everything the process has written so far (for failure messages).</summary>
    public string Output => _process.Output;

    public TableClient Table(string name) => new(azurite.ConnectionString, _prefix + name);

    public HttpClient CreateClient() => new() { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask InitializeAsync()
    {
        Upstream = await LoopbackUpstream.StartAsync(CancellationToken.None);
        var port = HandlerProcess.FreePort();
        _process = await HandlerProcess.StartAsync(port, new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_TABLE_PREFIX"] = _prefix,
            ["RELAY_ADMIN_KEY"] = AdminKey,
            ["RELAY_ENCRYPTION_KEYS"] = "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Logging__LogLevel__Default"] = "Warning",
        }, TimeSpan.FromSeconds(60), app.Executable);
        Admin = CreateClient();
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        foreach (var account in RelayWithUpstreams.Accounts(Upstream))
        {
            await AdminApi.CreateAccountAsync(Admin, account);
        }

        Key = (await AdminApi.CreateKeyAsync(Admin, new { name = "native" })).Key;
    }

    public async ValueTask DisposeAsync()
    {
        Admin?.Dispose();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }
    }
}
