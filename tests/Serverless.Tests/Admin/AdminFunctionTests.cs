using System.Net.Http.Headers;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Accounts;
using Serverless.Relay.Keys;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Admin;

public sealed class AdminFunctionTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string ProviderList = "openai, azure-openai, anthropic, gemini, openrouter, ollama, openai-compatible";
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private readonly ManualTimeProvider _time = new();
    private RelayHost _host = null!;

    public async ValueTask InitializeAsync() =>
        _host = await RelayHost.StartAsync(azurite, StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("admin")), _time).WaitAsync(Timeout);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private Task<RelayAnswer> SendAsync(HttpMethod method, string path, string? json = null, string? adminKey = "admin-secret") =>
        _host.SendAsync(method, path, json, adminKey, TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);

    // ----- auth and routing -----

    [Theory]
    [InlineData(null, null, 401)]
    [InlineData("Bearer wrong", null, 401)]
    [InlineData("Basic admin-secret", null, 401)]
    [InlineData(null, "wrong", 401)]
    [InlineData("Bearer admin-secret", null, 200)]
    [InlineData("bearer admin-secret", null, 200)]
    [InlineData(null, "admin-secret", 200)]
    public async Task InvokeAsync_Credentials_OnlyTheAdminKeyPasses(string? authorization, string? apiKey, int expected)
    {
        var ct = TestContext.Current.CancellationToken;
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/admin/keys");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        if (apiKey is not null)
        {
            request.Headers.Add("x-api-key", apiKey);
        }

        using var http = _host.CreateClient();
        using var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
        var body = await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct);

        Assert.Equal(expected, (int)response.StatusCode);
        if (expected == 401)
        {
            Assert.Equal("missing or invalid admin key: send it as 'Authorization: Bearer <key>' or 'x-api-key'", new RelayAnswer(401, body, response).ErrorMessage);
        }
    }

    [Fact]
    public async Task InvokeAsync_AdminKeyNotConfigured_503SayingToSetIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await RelayHost.StartAsync(azurite, StorageTestKit.Settings(azurite, "noadmin", adminKey: null), _time).WaitAsync(Timeout, ct);

        var answer = await host.SendAsync(HttpMethod.Get, "api/admin/keys", ct: ct).WaitAsync(Timeout, ct);

        Assert.Equal(503, answer.Status);
        Assert.Equal("the admin API is disabled: set RELAY_ADMIN_KEY to enable it", answer.ErrorMessage);
    }

    [Theory]
    [InlineData("GET", "api/admin/", 404, "no admin endpoint at /api/admin/")]
    [InlineData("GET", "api/admin/users", 404, "no admin endpoint at /api/admin/users")]
    [InlineData("GET", "api/admin/keys/key_0000000000000000/x", 404, "no admin endpoint at /api/admin/keys/key_0000000000000000/x")]
    [InlineData("GET", "api/admin/keys/key_0000000000000000", 404, "no key has id 'key_0000000000000000'")]
    [InlineData("GET", "api/admin/keys/nonsense", 404, "no key has id 'nonsense'")]
    [InlineData("DELETE", "api/admin/accounts/acct_0000000000000000", 404, "no account has id 'acct_0000000000000000'")]
    [InlineData("PUT", "api/admin/keys", 405, "PUT is not allowed on /api/admin/keys; allowed: GET, POST")]
    [InlineData("POST", "api/admin/accounts/acct_0000000000000000", 405, "POST is not allowed on /api/admin/accounts/acct_0000000000000000; allowed: GET, PATCH, DELETE")]
    public async Task InvokeAsync_UnknownPathOrMethod_404Or405(string method, string path, int status, string message)
    {
        var answer = await SendAsync(new HttpMethod(method), path, method is "POST" or "PUT" ? "{}" : null);

        Assert.Equal(status, answer.Status);
        Assert.Equal(message, answer.ErrorMessage);
    }

    // ----- accounts -----

    [Fact]
    public async Task Accounts_CrudRoundTrip_NeverRevealsTheSecret()
    {
        const string secret = "sk-upstream-SECRET-1234567890";
        const string rotated = "sk-upstream-ROTATED-0987654321";
        var bodies = new List<string>();

        var created = await SendAsync(HttpMethod.Post, "api/admin/accounts", $$"""
            {"name":"azure east","provider":"azure-openai","baseUrl":"https://east.openai.azure.com/","apiVersion":"2024-10-21",
             "apiKey":"{{secret}}","models":["gpt-4o*"],"modelMap":{"gpt-4o":"prod-gpt4o"},"priority":3,"unknownField":true}
            """);
        bodies.Add(created.Body);
        Assert.Equal(201, created.Status);
        var id = created.Json.GetProperty("id").GetString()!;
        Assert.Matches("^acct_[0-9a-f]{16}$", id);
        Assert.Equal("/api/admin/accounts/" + id, created.Response.Headers.Location?.ToString());
        Assert.Equal("azure east", created.Json.GetProperty("name").GetString());
        Assert.Equal("azure-openai", created.Json.GetProperty("provider").GetString());
        Assert.Equal("https://east.openai.azure.com", created.Json.GetProperty("baseUrl").GetString());
        Assert.Equal("2024-10-21", created.Json.GetProperty("apiVersion").GetString());
        Assert.Equal("prod-gpt4o", created.Json.GetProperty("modelMap").GetProperty("gpt-4o").GetString());
        Assert.Equal(3, created.Json.GetProperty("priority").GetInt32());
        Assert.True(created.Json.GetProperty("enabled").GetBoolean());
        Assert.True(created.Json.GetProperty("hasApiKey").GetBoolean());

        var listed = await SendAsync(HttpMethod.Get, "api/admin/accounts");
        bodies.Add(listed.Body);
        Assert.Equal([id], listed.Json.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("id").GetString()));

        var read = await SendAsync(HttpMethod.Get, "api/admin/accounts/" + id);
        bodies.Add(read.Body);
        Assert.Equal(200, read.Status);
        Assert.Equal(created.Body, read.Body);

        var directory = _host.Services.GetRequiredService<IAccountDirectory>();
        var before = Assert.Single(await directory.GetAllAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Equal(secret, before.ApiKey);
        Assert.Equal("prod-gpt4o", before.UpstreamModelFor("gpt-4o"));

        var patched = await SendAsync(HttpMethod.Patch, "api/admin/accounts/" + id, $$"""{"apiKey":"{{rotated}}","priority":7,"enabled":false}""");
        bodies.Add(patched.Body);
        Assert.Equal(200, patched.Status);
        Assert.Equal(7, patched.Json.GetProperty("priority").GetInt32());
        Assert.False(patched.Json.GetProperty("enabled").GetBoolean());
        Assert.Equal("azure east", patched.Json.GetProperty("name").GetString());

        // Invalidated at once (the manual clock never moves): the directory already has the rotated key.
        var after = Assert.Single(await directory.GetAllAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Equal(rotated, after.ApiKey);
        Assert.False(after.Enabled);

        var raw = await RawEntityAsync(RelayTables.Accounts, "account", id);
        Assert.StartsWith("k1:", raw.GetString("ApiKey"), StringComparison.Ordinal);
        Assert.All(raw.Select(kv => kv.Value), v => Assert.DoesNotContain("upstream", v?.ToString() ?? "", StringComparison.Ordinal));
        Assert.All(bodies, b => Assert.DoesNotContain("upstream", b, StringComparison.Ordinal));

        var deleted = await SendAsync(HttpMethod.Delete, "api/admin/accounts/" + id);
        Assert.Equal(204, deleted.Status);
        Assert.Equal(404, (await SendAsync(HttpMethod.Get, "api/admin/accounts/" + id)).Status);
        Assert.Empty(await directory.GetAllAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task CreateAccount_OllamaWithoutKey_Accepted()
    {
        var created = await SendAsync(HttpMethod.Post, "api/admin/accounts", """{"name":"local","provider":"ollama","models":["llama*"]}""");

        Assert.Equal(201, created.Status);
        Assert.False(created.Json.GetProperty("hasApiKey").GetBoolean());
        Assert.Equal(0, created.Json.GetProperty("priority").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, created.Json.GetProperty("baseUrl").ValueKind);
    }

    [Theory]
    [InlineData("""{}""", "name", "name is required; provider is required; models is required")]
    [InlineData("""{"name":"a","provider":"bogus","apiKey":"k","models":["m"]}""", "provider", "provider must be one of: " + ProviderList)]
    [InlineData("""{"name":"a","provider":"azure-openai","apiKey":"k","models":["m"]}""", "baseUrl", "baseUrl is required for provider azure-openai")]
    [InlineData("""{"name":"a","provider":"openai-compatible","models":["m"]}""", "baseUrl", "baseUrl is required for provider openai-compatible; apiKey is required for provider openai-compatible")]
    [InlineData("""{"name":"a","provider":"openai","models":["m"]}""", "apiKey", "apiKey is required for provider openai")]
    [InlineData("""{"name":"a","provider":"openai","apiKey":"","models":["m"]}""", "apiKey", "apiKey must be a non-empty string")]
    [InlineData("""{"name":"a","provider":"openai","apiKey":"k","models":[]}""", "models", "models must be a non-empty array of non-empty strings")]
    [InlineData("""{"name":"a","provider":"openai","apiKey":"k","models":["m",""]}""", "models", "models must be a non-empty array of non-empty strings")]
    [InlineData("""{"name":"a","provider":"openai","apiKey":"k","models":["m"],"baseUrl":"ftp://x"}""", "baseUrl", "baseUrl must be an absolute http or https URL")]
    [InlineData("""{"name":"a","provider":"openai","apiKey":"k","models":["m"],"baseUrl":"/v1"}""", "baseUrl", "baseUrl must be an absolute http or https URL")]
    [InlineData("""{"name":"a","provider":"openai","apiKey":"k","models":["m"],"modelMap":{"a":1}}""", "modelMap", "modelMap must be an object mapping model names to non-empty strings")]
    [InlineData("""{"name":"a","provider":"openai","apiKey":"k","models":["m"],"modelMap":["a"]}""", "modelMap", "modelMap must be an object mapping model names to non-empty strings")]
    [InlineData("""{"name":"a","provider":"openai","apiKey":"k","models":["m"],"priority":1.5}""", "priority", "priority must be an integer")]
    [InlineData("""{"name":"a","provider":"openai","apiKey":"k","models":["m"],"enabled":"yes"}""", "enabled", "enabled must be a boolean")]
    [InlineData("""{"name":5,"provider":"openai","apiKey":"k","models":["m"]}""", "name", "name must be a string")]
    [InlineData("""{"name":"  ","provider":"openai","apiKey":"k","models":["m"]}""", "name", "name is required")]
    [InlineData("""{"name":"","provider":"x","models":"m","priority":"high"}""", "name", "name is required; provider must be one of: " + ProviderList + "; models must be a non-empty array of non-empty strings; priority must be an integer")]
    [InlineData("""{"name":""", null, "request body is not valid JSON")]
    [InlineData("", null, "request body is not valid JSON")]
    [InlineData("""[1]""", null, "request body must be a JSON object")]
    public async Task CreateAccount_InvalidBody_400NamingEveryField(string body, string? param, string message)
    {
        var answer = await SendAsync(HttpMethod.Post, "api/admin/accounts", body);

        Assert.Equal(400, answer.Status);
        Assert.Equal(message, answer.ErrorMessage);
        Assert.Equal(param, answer.ErrorParam);
        Assert.Equal("invalid_request_error", answer.Json.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task CreateAccount_NameTooLong_400()
    {
        var answer = await SendAsync(HttpMethod.Post, "api/admin/accounts", $$"""{"name":"{{new string('n', 101)}}","provider":"openai","apiKey":"k","models":["m"]}""");

        Assert.Equal("name must be at most 100 characters", answer.ErrorMessage);
    }

    [Theory]
    [InlineData("""{"provider":"azure-openai"}""", "baseUrl", "baseUrl is required for provider azure-openai")]
    [InlineData("""{"apiKey":null}""", "apiKey", "apiKey is required for provider openai")]
    [InlineData("""{"name":null,"priority":"x"}""", "name", "name is required; priority must be an integer")]
    public async Task UpdateAccount_InvalidResult_400AndUnchanged(string patch, string param, string message)
    {
        var created = await SendAsync(HttpMethod.Post, "api/admin/accounts", """{"name":"a","provider":"openai","apiKey":"k","models":["m"]}""");
        var id = created.Json.GetProperty("id").GetString();

        var answer = await SendAsync(HttpMethod.Patch, "api/admin/accounts/" + id, patch);

        Assert.Equal(400, answer.Status);
        Assert.Equal(message, answer.ErrorMessage);
        Assert.Equal(param, answer.ErrorParam);
        Assert.Equal(created.Body, (await SendAsync(HttpMethod.Get, "api/admin/accounts/" + id)).Body);
    }

    // ----- keys -----

    [Fact]
    public async Task Keys_CrudRoundTrip_PlaintextOnlyOnCreate()
    {
        var ct = TestContext.Current.CancellationToken;
        var created = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name":"ci bot","owner":"team-a","models":["gpt-4o*"],"expiresAt":"2031-01-01T00:00:00Z"}""");
        Assert.Equal(201, created.Status);
        var id = created.Json.GetProperty("id").GetString()!;
        var plaintext = created.Json.GetProperty("key").GetString()!;
        Assert.Matches("^key_[0-9a-f]{16}$", id);
        Assert.Matches("^sk-relay-[A-Za-z0-9_-]{43}$", plaintext);
        Assert.Equal(plaintext[..13] + "…" + plaintext[^4..], created.Json.GetProperty("hint").GetString());
        Assert.Equal("team-a", created.Json.GetProperty("owner").GetString());
        Assert.Equal(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero), created.Json.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal(_time.GetUtcNow(), created.Json.GetProperty("createdAt").GetDateTimeOffset());

        var read = await SendAsync(HttpMethod.Get, "api/admin/keys/" + id);
        var listed = await SendAsync(HttpMethod.Get, "api/admin/keys");
        Assert.False(read.Json.TryGetProperty("key", out _));
        Assert.DoesNotContain(plaintext[9..], read.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(plaintext[9..], listed.Body, StringComparison.Ordinal);
        Assert.Equal([id], listed.Json.GetProperty("data").EnumerateArray().Select(k => k.GetProperty("id").GetString()));

        var authenticator = _host.Services.GetRequiredService<IClientKeyAuthenticator>();
        var authenticated = await authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        Assert.Equal(id, authenticated!.Id);
        Assert.True(authenticated.AllowsModel("gpt-4o-mini"));

        // The clock never moves, so only invalidation can make the authenticator see these changes.
        var disabled = await SendAsync(HttpMethod.Patch, "api/admin/keys/" + id, """{"enabled":false,"owner":null,"models":null}""");
        Assert.Equal(200, disabled.Status);
        Assert.False(disabled.Json.TryGetProperty("key", out _));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, disabled.Json.GetProperty("owner").ValueKind);
        var afterDisable = await authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct);
        Assert.False(afterDisable!.Enabled);
        Assert.Empty(afterDisable.Models);

        Assert.Equal(204, (await SendAsync(HttpMethod.Delete, "api/admin/keys/" + id)).Status);
        Assert.Null(await authenticator.AuthenticateAsync(plaintext, ct).AsTask().WaitAsync(Timeout, ct));
        Assert.Equal(404, (await SendAsync(HttpMethod.Get, "api/admin/keys/" + id)).Status);
        Assert.Equal(404, (await SendAsync(HttpMethod.Patch, "api/admin/keys/" + id, """{"enabled":true}""")).Status);
    }

    [Theory]
    [InlineData("""{}""", "name", "name is required")]
    [InlineData("""{"name":"a","expiresAt":"2029-12-31T23:59:59Z"}""", "expiresAt", "expiresAt must be in the future")]
    [InlineData("""{"name":"a","expiresAt":"tomorrow"}""", "expiresAt", "expiresAt must be an ISO-8601 date and time")]
    [InlineData("""{"name":"a","expiresAt":20300101}""", "expiresAt", "expiresAt must be an ISO-8601 date and time")]
    [InlineData("""{"name":"a","models":[""]}""", "models", "models must be an array of non-empty strings")]
    [InlineData("""{"name":"a","models":"gpt-4o"}""", "models", "models must be an array of non-empty strings")]
    [InlineData("""{"name":"a","owner":5}""", "owner", "owner must be a non-empty string of at most 200 characters")]
    [InlineData("""{"name":"a","enabled":1}""", "enabled", "enabled must be a boolean")]
    [InlineData("""{"owner":"","expiresAt":"2020-01-01T00:00:00Z","enabled":null}""", "name", "name is required; owner must be a non-empty string of at most 200 characters; expiresAt must be in the future; enabled must be a boolean")]
    public async Task CreateKey_InvalidBody_400NamingEveryField(string body, string param, string message)
    {
        var answer = await SendAsync(HttpMethod.Post, "api/admin/keys", body);

        Assert.Equal(400, answer.Status);
        Assert.Equal(message, answer.ErrorMessage);
        Assert.Equal(param, answer.ErrorParam);
    }

    [Fact]
    public async Task CreateKey_MinimalBody_DefaultsToEveryModelNoExpiryEnabled()
    {
        var created = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name":"plain"}""");

        Assert.Equal(201, created.Status);
        Assert.Empty(created.Json.GetProperty("models").EnumerateArray());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, created.Json.GetProperty("expiresAt").ValueKind);
        Assert.True(created.Json.GetProperty("enabled").GetBoolean());
    }

    private async Task<TableEntity> RawEntityAsync(string table, string partitionKey, string rowKey)
    {
        var ct = TestContext.Current.CancellationToken;
        var client = await _host.Services.GetRequiredService<RelayTables>().GetAsync(table, ct).AsTask().WaitAsync(Timeout, ct);
        return (await client.GetEntityAsync<TableEntity>(partitionKey, rowKey, cancellationToken: ct).WaitAsync(Timeout, ct)).Value;
    }
}
