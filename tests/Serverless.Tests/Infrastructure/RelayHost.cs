using System.Net.Http.Headers;
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

    private RelayHost(WebApplication app, Uri baseUri, string connectionString, string tablePrefix, string? adminKey)
    {
        _app = app;
        BaseUri = baseUri;
        ConnectionString = connectionString;
        TablePrefix = tablePrefix;
        AdminKeyInUse = adminKey;
        Admin = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (adminKey is not null)
        {
            Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        }
    }

    /// <summary>The operator's admin key this relay runs with (<see cref="AdminKey"/> unless the settings changed it).</summary>
    public string? AdminKeyInUse { get; }

    public Uri BaseUri { get; }

    public string ConnectionString { get; }

    public string TablePrefix { get; }

    /// <summary>A client of the admin API, already authenticated.</summary>
    public HttpClient Admin { get; }

    public IServiceProvider Services => _app.Services;

    public TableClient Table(string name) => new(ConnectionString, TablePrefix + name);

    /// <param name="settings">App settings over the defaults (a null value removes one), e.g. a table prefix shared with another host.</param>
    /// <param name="time">The clock the relay runs on (limits, health marks, OAuth expiry); the system clock if null.</param>
    /// <param name="services">Replaces or adds services after the test's settings, before the app's own registrations.</param>
    public static async Task<RelayHost> StartAsync(
        AzuriteFixture azurite,
        IDictionary<string, string?>? settings = null,
        TimeProvider? time = null,
        Action<IServiceCollection>? services = null)
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

            // Hourly totals with every batch (production sums them for 10 s first): usage reports at once.
            ["UsageWriter:TotalsInterval"] = "00:00:00",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var app = HandlerApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(configuration);
            if (time is not null)
            {
                builder.Services.AddSingleton(time); // registered first: the relay's TryAdd of the system clock yields
            }

            services?.Invoke(builder.Services);
        });
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // Start-up does not wait for the tables (GET / must answer at once); a test does, so that what it reads
        // directly from storage exists from its first line.
        await app.Services.GetRequiredService<RelayTableInitializer>().Ready.WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RelayHost(app, new Uri(address + "/"), azurite.ConnectionString, configuration["RELAY_TABLE_PREFIX"] ?? "", configuration["RELAY_ADMIN_KEY"]);
    }

    /// <summary>Creates an upstream account through the admin API; returns its id.</summary>
    public Task<string> CreateAccountAsync(object account) => AdminApi.CreateAccountAsync(Admin, account);

    /// <summary>Creates a client key through the admin API; returns the plaintext key.</summary>
    public async Task<string> CreateKeyAsync(object? key = null) => (await CreateKeyWithIdAsync(key)).Key;

    /// <summary>Creates a client key through the admin API; returns its id and the plaintext key.</summary>
    public Task<(string Id, string Key)> CreateKeyWithIdAsync(object? key = null) => AdminApi.CreateKeyAsync(Admin, key);

    /// <summary>Waits until the background writer has stored <paramref name="count"/> usage rows for a key, and returns them in request order.</summary>
    public Task<IReadOnlyList<TableEntity>> UsageRowsAsync(string keyId, int count, TimeSpan timeout) =>
        Eventually.RowsAsync(Table(RelayTables.Usage), keyId, count, timeout);

    /// <summary>
    /// Sends one request and reads the whole answer: a JSON body, and a bearer key (the operator's admin key unless
    /// another, or null for none, is given). For admin tests that assert statuses and error bodies.
    /// </summary>
    public async Task<RelayAnswer> SendAsync(HttpMethod method, string path, string? json = null, string? key = "", CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(method, path);
        var bearer = key == "" ? AdminKeyInUse : key;
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        using var http = CreateClient();
        var response = await http.SendAsync(request, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        var body = await response.Content.ReadAsStringAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        return new RelayAnswer((int)response.StatusCode, body, response);
    }

    /// <summary>
    /// Creates an account of <paramref name="provider"/> pointed at a loopback upstream (its base URL for that provider,
    /// its API key), serving <paramref name="models"/>; <paramref name="extra"/> adds or overrides admin fields.
    /// </summary>
    public Task<string> CreateLoopbackAccountAsync(
        Upstreams.LoopbackUpstream upstream, string provider, IReadOnlyList<string> models, IReadOnlyDictionary<string, string>? modelMap = null, IReadOnlyDictionary<string, object?>? extra = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["name"] = provider + " account",
            ["provider"] = provider,
            ["baseUrl"] = provider switch
            {
                "anthropic" => upstream.AnthropicBaseUrl,
                "gemini" => upstream.GeminiBaseUrl,
                "azure-openai" => upstream.AzureBaseUrl,
                _ => upstream.OpenAIBaseUrl,
            },
            ["apiVersion"] = provider == "azure-openai" ? "2024-10-21" : null,
            ["apiKey"] = upstream.ApiKey,
            ["models"] = models,
            ["modelMap"] = modelMap,
        };
        foreach (var (field, value) in extra ?? new Dictionary<string, object?>())
        {
            body[field] = value;
        }

        return CreateAccountAsync(body);
    }

    /// <summary>An HttpClient for the client APIs (no credentials set).</summary>
    public HttpClient CreateClient() => new() { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}

/// <summary>A whole answer: status, body, and the response for its headers.</summary>
internal sealed record RelayAnswer(int Status, string Body, HttpResponseMessage Response)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? ErrorMessage => Json.GetProperty("error").GetProperty("message").GetString();

    public string? ErrorParam => Json.GetProperty("error").GetProperty("param").GetString();
}
