using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Handler.Hosting;
using Serverless.Relay.Storage;

namespace Serverless.Tests.Infrastructure;

/// <summary>
/// The handler in local mode, in this process, on a real loopback socket, against the shared Azurite with tables of
/// its own (a unique prefix), exactly as <c>HandlerApp.Build</c> composes it for production.
/// </summary>
internal sealed class RelayHost : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly WebApplication _app;

    private RelayHost(WebApplication app, Uri baseUri, string connectionString, string tablePrefix)
    {
        _app = app;
        BaseUri = baseUri;
        ConnectionString = connectionString;
        TablePrefix = tablePrefix;
        Admin = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public Uri BaseUri { get; }

    public string ConnectionString { get; }

    public string TablePrefix { get; }

    /// <summary>A client of the admin API, already authenticated.</summary>
    public HttpClient Admin { get; }

    public IServiceProvider Services => _app.Services;

    public TableClient Table(string name) => new(ConnectionString, TablePrefix + name);

    public static async Task<RelayHost> StartAsync(AzuriteFixture azurite, IDictionary<string, string?>? settings = null)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        var configuration = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_TABLE_PREFIX"] = prefix,
            ["RELAY_ADMIN_KEY"] = AdminKey,
            ["RELAY_ENCRYPTION_KEYS"] = "test=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["RELAY_APP_ROOT"] = AppContext.BaseDirectory,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var app = HandlerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(configuration));
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // Start-up does not wait for the tables (GET / must answer at once); a test does, so that what it reads
        // directly from storage exists from its first line.
        await app.Services.GetRequiredService<RelayTableInitializer>().Ready.WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RelayHost(app, new Uri(address + "/"), azurite.ConnectionString, prefix);
    }

    /// <summary>Creates an upstream account through the admin API; returns its id.</summary>
    public async Task<string> CreateAccountAsync(object account)
    {
        using var response = await Admin.PostAsJsonAsync("admin/accounts", account).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"creating the account failed: {(int)response.StatusCode} {body}");
        }

        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Creates a client key through the admin API; returns the plaintext key.</summary>
    public async Task<string> CreateKeyAsync(object? key = null) => (await CreateKeyWithIdAsync(key)).Key;

    /// <summary>Creates a client key through the admin API; returns its id and the plaintext key.</summary>
    public async Task<(string Id, string Key)> CreateKeyWithIdAsync(object? key = null)
    {
        using var response = await Admin.PostAsJsonAsync("admin/keys", key ?? new { name = "test" }).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"creating the key failed: {(int)response.StatusCode} {body}");
        }

        var created = JsonDocument.Parse(body).RootElement;
        return (created.GetProperty("id").GetString()!, created.GetProperty("key").GetString()!);
    }

    /// <summary>Waits until the background writer has stored <paramref name="count"/> usage rows for a key, and returns them in request order.</summary>
    public Task<IReadOnlyList<TableEntity>> UsageRowsAsync(string keyId, int count, TimeSpan timeout) =>
        Eventually.RowsAsync(Table(RelayTables.Usage), keyId, count, timeout);

    /// <summary>An HttpClient for the client APIs (no credentials set).</summary>
    public HttpClient CreateClient() => new() { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}
