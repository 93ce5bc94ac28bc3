using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Handler.Hosting;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.OAuth;

public sealed class PkceAuthorizationTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string ClientId = "client-pkce";
    private const string RedirectUri = "https://console.example.com/oauth/code/callback";
    private const string UnknownState = "state is unknown, expired or already used; start again with POST /api/admin/oauth/authorize";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly string _prefix = "p" + Guid.NewGuid().ToString("N")[..12];
    private AuthorizationServer _server = null!;
    private WebApplication _app = null!;
    private HttpClient _admin = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await AuthorizationServer.StartAsync();
        _app = HandlerApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = azurite.ConnectionString,
                ["RELAY_TABLE_PREFIX"] = _prefix,
                ["RELAY_ADMIN_KEY"] = RelayHost.AdminKey,
                ["RELAY_ENCRYPTION_KEYS"] = "test=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                ["RELAY_APP_ROOT"] = AppContext.BaseDirectory,
                ["Logging:LogLevel:Default"] = "Warning",
            });
            builder.Services.AddSingleton<TimeProvider>(_time);
        });
        await _app.StartAsync().WaitAsync(Timeout, TestContext.Current.CancellationToken);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _admin = new HttpClient { BaseAddress = new Uri(address + "/"), Timeout = Timeout };
        _admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RelayHost.AdminKey);
    }

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        await _app.StopAsync().WaitAsync(Timeout, TestContext.Current.CancellationToken);
        await _app.DisposeAsync();
        await _server.DisposeAsync();
    }

    private Dictionary<string, object?> AuthorizeBody(string provider = "anthropic") => new()
    {
        ["provider"] = provider,
        ["name"] = "claude max",
        ["models"] = new[] { "m" },
        ["priority"] = 2,
        ["baseUrl"] = _server.Root,
        ["clientId"] = ClientId,
        ["redirectUri"] = RedirectUri,
        ["authorizeUrl"] = "https://auth.example.com/oauth/authorize",
        ["tokenUrl"] = _server.TokenUrl,
    };

    // ----- authorize -----

    [Fact]
    public async Task Authorize_Anthropic_UrlCarriesEveryParameterAndAFreshState()
    {
        var body = AuthorizeBody();
        body["scopes"] = new[] { "user:inference", "user:profile" };

        var (status, json) = await PostAsync("api/admin/oauth/authorize", body);

        Assert.Equal(200, status);
        var url = new Uri(json.GetProperty("authorizationUrl").GetString()!);
        Assert.Equal("https://auth.example.com/oauth/authorize", url.GetLeftPart(UriPartial.Path));
        var query = Query(url);
        Assert.Equal(
            ["code", "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"],
            query.Keys.ToArray());
        Assert.Equal("true", query["code"]);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal(ClientId, query["client_id"]);
        Assert.Equal(RedirectUri, query["redirect_uri"]);
        Assert.Equal("user:inference user:profile", query["scope"]);
        Assert.Equal(json.GetProperty("state").GetString(), query["state"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", query["code_challenge"]);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", query["state"]);
        Assert.Equal(_time.GetUtcNow().AddMinutes(10), json.GetProperty("expiresAt").GetDateTimeOffset());

        var (_, again) = await PostAsync("api/admin/oauth/authorize", body);
        Assert.NotEqual(query["state"], Query(new Uri(again.GetProperty("authorizationUrl").GetString()!))["state"]);
        Assert.NotEqual(query["code_challenge"], Query(new Uri(again.GetProperty("authorizationUrl").GetString()!))["code_challenge"]);
    }

    [Fact]
    public async Task Authorize_GeminiDefaults_GoogleEndpointScopesAndOfflineAccess()
    {
        var body = AuthorizeBody("gemini");
        body.Remove("authorizeUrl");

        var (status, json) = await PostAsync("api/admin/oauth/authorize", body);

        Assert.Equal(200, status);
        var url = new Uri(json.GetProperty("authorizationUrl").GetString()!);
        Assert.Equal("https://accounts.google.com/o/oauth2/v2/auth", url.GetLeftPart(UriPartial.Path));
        var query = Query(url);
        Assert.Equal("https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/generative-language.retriever", query["scope"]);
        Assert.Equal("offline", query["access_type"]);
        Assert.Equal("consent", query["prompt"]);
        Assert.False(query.ContainsKey("code"));
    }

    [Theory]
    [InlineData("provider", null, "provider", "provider is required")]
    [InlineData("provider", "openai", "provider", "provider must be one of: anthropic, gemini")]
    [InlineData("clientId", null, "clientId", "clientId is required")]
    [InlineData("clientId", "", "clientId", "clientId must be a non-empty string")]
    [InlineData("redirectUri", null, "redirectUri", "redirectUri is required")]
    [InlineData("redirectUri", "not a url", "redirectUri", "redirectUri must be an absolute URL")]
    [InlineData("tokenUrl", "ftp://x.example/token", "tokenUrl", "tokenUrl must be an absolute http or https URL")]
    [InlineData("authorizeUrl", "/relative", "authorizeUrl", "authorizeUrl must be an absolute http or https URL")]
    [InlineData("scopes", "a b", "scopes", "scopes must be a non-empty array of non-empty strings without spaces")]
    [InlineData("name", null, "name", "name is required")]
    [InlineData("models", null, "models", "models is required")]
    [InlineData("priority", "high", "priority", "priority must be an integer")]
    public async Task Authorize_BadField_400NamingTheField(string field, string? value, string param, string message)
    {
        var body = AuthorizeBody();
        if (value is null)
        {
            body.Remove(field);
        }
        else
        {
            body[field] = value;
        }

        var (status, json) = await PostAsync("api/admin/oauth/authorize", body);

        Assert.Equal(400, status);
        Assert.Equal(message, json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(param, json.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Authorize_SeveralBadFields_EveryMessageAtOnce()
    {
        var (status, json) = await PostAsync("api/admin/oauth/authorize", new { provider = "x", models = new[] { "m" } });

        Assert.Equal(400, status);
        Assert.Equal("provider must be one of: anthropic, gemini; name is required; clientId is required; redirectUri is required", json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("provider", json.GetProperty("error").GetProperty("param").GetString());
    }

    // ----- complete -----

    [Fact]
    public async Task Complete_GrantedCode_CreatesAWorkingAnthropicAccount()
    {
        var state = await AuthorizeAndGrantAsync("code-1");

        using var response = await _admin.PostAsJsonAsync("api/admin/oauth/complete", new { state, code = "code-1" }, TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(201, (int)response.StatusCode);
        Assert.DoesNotContain(AuthorizationServer.AccessToken, body, StringComparison.Ordinal);
        Assert.DoesNotContain(AuthorizationServer.RefreshToken, body, StringComparison.Ordinal);
        var account = JsonDocument.Parse(body).RootElement;
        var id = account.GetProperty("id").GetString()!;
        Assert.Equal("/api/admin/accounts/" + id, response.Headers.Location?.ToString());
        Assert.Equal("claude max", account.GetProperty("name").GetString());
        Assert.Equal("anthropic", account.GetProperty("provider").GetString());
        Assert.Equal(2, account.GetProperty("priority").GetInt32());
        var oauth = account.GetProperty("oauth");
        Assert.Equal(_server.TokenUrl, oauth.GetProperty("tokenUrl").GetString());
        Assert.Equal(ClientId, oauth.GetProperty("clientId").GetString());
        Assert.Equal("json", oauth.GetProperty("requestFormat").GetString());
        Assert.True(oauth.GetProperty("hasRefreshToken").GetBoolean());
        Assert.Equal(_time.GetUtcNow().AddHours(1), oauth.GetProperty("expiresAt").GetDateTimeOffset());

        // The exchange: JSON for Anthropic, every RFC 6749 §4.1.3 field, the verifier (checked by the server), the state.
        Assert.Equal("application/json; charset=utf-8", _server.LastContentType);
        Assert.Equal(["client_id", "code", "code_verifier", "grant_type", "redirect_uri", "state"], _server.LastFields.Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(state, _server.LastFields["state"]);
        Assert.Matches("^[A-Za-z0-9._~-]{43,128}$", _server.LastFields["code_verifier"]);

        // The account relays: a chat call reaches the upstream with the issued access token.
        var (_, key) = await AdminApi.CreateKeyAsync(_admin, new { name = "k" });
        using var chat = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        chat.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var answer = await _admin.SendAsync(chat, TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        var chatBody = await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)answer.StatusCode);
        Assert.Contains("hello", chatBody, StringComparison.Ordinal);
        var call = Assert.Single(_server.ApiCalls);
        Assert.Equal("Bearer " + AuthorizationServer.AccessToken, call.Authorization);
        Assert.Contains("oauth-2025-04-20", call.Beta, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_CodeHashStateForm_AcceptedWithoutStateAndGeminiUsesForm()
    {
        var body = AuthorizeBody("gemini");
        body["clientSecret"] = "gemini-client-secret";
        var state = await AuthorizeAndGrantAsync("code-2", body);

        var (status, json) = await PostAsync("api/admin/oauth/complete", new { code = "code-2#" + state });

        Assert.Equal(201, status);
        Assert.Equal("gemini", json.GetProperty("provider").GetString());
        Assert.Equal("form", json.GetProperty("oauth").GetProperty("requestFormat").GetString());
        Assert.Equal("application/x-www-form-urlencoded", _server.LastContentType);
        Assert.Equal("gemini-client-secret", _server.LastFields["client_secret"]);
        Assert.False(_server.LastFields.ContainsKey("state"));
        Assert.DoesNotContain("gemini-client-secret", json.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_SameStateTwice_SecondRefusedWithoutCallingTheTokenEndpoint()
    {
        var state = await AuthorizeAndGrantAsync("code-3");
        var (first, _) = await PostAsync("api/admin/oauth/complete", new { state, code = "code-3" });

        var (status, json) = await PostAsync("api/admin/oauth/complete", new { state, code = "code-3" });

        Assert.Equal(201, first);
        Assert.Equal(400, status);
        Assert.Equal(UnknownState, json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("state", json.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(1, _server.Calls);
    }

    [Fact]
    public async Task Complete_AfterTheAuthorizationExpired_RefusedAndRowDeleted()
    {
        var state = await AuthorizeAndGrantAsync("code-4");
        _time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        var (status, json) = await PostAsync("api/admin/oauth/complete", new { state, code = "code-4" });

        Assert.Equal(400, status);
        Assert.Equal(UnknownState, json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("state", json.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(0, _server.Calls);
        var row = await new Azure.Data.Tables.TableClient(azurite.ConnectionString, _prefix + "oauthpending")
            .GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>("pending", state, cancellationToken: TestContext.Current.CancellationToken)
            .WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.False(row.HasValue);
    }

    [Fact]
    public async Task Complete_JustBeforeExpiry_Accepted()
    {
        var state = await AuthorizeAndGrantAsync("code-5");
        _time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));

        var (status, _) = await PostAsync("api/admin/oauth/complete", new { state, code = "code-5" });

        Assert.Equal(201, status);
    }

    [Fact]
    public async Task Complete_TokenEndpointRefuses_502WithoutEchoingSecrets()
    {
        var state = await AuthorizeAndGrantAsync("code-6");
        _server.FailWith = "invalid_grant";

        var (status, json) = await PostAsync("api/admin/oauth/complete", new { state, code = "code-6" });

        Assert.Equal(502, status);
        Assert.Equal("the authorization code exchange failed: the token endpoint answered 400 (invalid_grant)", json.GetProperty("error").GetProperty("message").GetString());
        Assert.DoesNotContain("code-6", json.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(_server.LastFields["code_verifier"], json.GetRawText(), StringComparison.Ordinal);
        var accounts = JsonDocument.Parse(await _admin.GetStringAsync("api/admin/accounts", TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken)).RootElement;
        Assert.Empty(accounts.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task Complete_ChallengeOfAnotherVerifier_ExchangeRefused()
    {
        // The user consented to a different authorization's challenge: the verifier this state holds cannot match it.
        var state = await AuthorizeAndGrantAsync("code-7");
        var (_, other) = await PostAsync("api/admin/oauth/authorize", AuthorizeBody());
        _server.Grant("code-7", Query(new Uri(other.GetProperty("authorizationUrl").GetString()!))["code_challenge"], ClientId, RedirectUri);

        var (status, _) = await PostAsync("api/admin/oauth/complete", new { state, code = "code-7" });

        Assert.Equal(502, status);
    }

    [Theory]
    [InlineData("""{"state":"abc"}""", "code", "code is required")]
    [InlineData("""{"state":"abc","code":""}""", "code", "code must be a non-empty string")]
    [InlineData("""{"code":"c"}""", "state", "state is required (or send code as 'code#state')")]
    [InlineData("""{"state":7,"code":"c"}""", "state", "state must be a non-empty string")]
    [InlineData("""{"state":"abc","code":"c#xyz"}""", "state", "state does not match the state after '#' in code")]
    [InlineData("""{"state":"no-such-state","code":"c"}""", "state", UnknownState)]
    [InlineData("""{"state":"bad/state#","code":"c"}""", "state", UnknownState)]
    public async Task Complete_BadRequest_400NamingTheField(string request, string param, string message)
    {
        using var response = await _admin.PostAsync("api/admin/oauth/complete", new StringContent(request, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(message, json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(param, json.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("authorize")]
    [InlineData("complete")]
    public async Task OAuthEndpoints_Get_405(string step)
    {
        using var response = await _admin.GetAsync("api/admin/oauth/" + step, TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);

        Assert.Equal(405, (int)response.StatusCode);
        Assert.Equal("POST", response.Content.Headers.Allow.Single());
    }

    /// <summary>Starts an authorization and plays the user's consent: the server issues <paramref name="code"/> for its challenge.</summary>
    private async Task<string> AuthorizeAndGrantAsync(string code, Dictionary<string, object?>? body = null)
    {
        var (status, json) = await PostAsync("api/admin/oauth/authorize", body ?? AuthorizeBody());
        Assert.Equal(200, status);
        var query = Query(new Uri(json.GetProperty("authorizationUrl").GetString()!));
        _server.Grant(code, query["code_challenge"], query["client_id"], query["redirect_uri"]);
        return json.GetProperty("state").GetString()!;
    }

    private async Task<(int Status, JsonElement Json)> PostAsync(string path, object body)
    {
        using var response = await _admin.PostAsJsonAsync(path, body, TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static Dictionary<string, string> Query(Uri url) =>
        url.Query.TrimStart('?').Split('&')
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0]), p => Uri.UnescapeDataString(p[1]), StringComparer.Ordinal);
}
