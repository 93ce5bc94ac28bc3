using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Serverless.Tests.OAuth;

/// <summary>
/// A loopback OAuth authorization server for the authorization-code grant with PKCE (<c>POST /token</c>, form or JSON),
/// and the resource it protects, an Anthropic-shaped <c>POST /v1/messages</c> that wants the issued bearer token.
/// A test plays the user's consent with <see cref="Grant"/>; the server checks the verifier against the challenge
/// with its own S256 (RFC 7636 §4.6), so a wrong challenge in the authorization URL fails the exchange.
/// </summary>
internal sealed class AuthorizationServer : IAsyncDisposable
{
    public const string AccessToken = "at-pkce-secret";
    public const string RefreshToken = "rt-pkce-secret";

    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Challenge, string ClientId, string RedirectUri)> _codes = new(StringComparer.Ordinal);
    private int _calls;

    private AuthorizationServer(WebApplication app)
    {
        _app = app;
        _app.MapPost("/token", TokenAsync);
        _app.MapPost("/v1/messages", MessagesAsync);
    }

    public string Root { get; private set; } = "";

    public string TokenUrl => Root + "/token";

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>When set, every exchange is refused with this OAuth error.</summary>
    public string? FailWith { get; set; }

    /// <summary>The last token request's fields and content type.</summary>
    public IReadOnlyDictionary<string, string> LastFields { get; private set; } = new Dictionary<string, string>();

    public string LastContentType { get; private set; } = "";

    /// <summary>Headers of each <c>/v1/messages</c> call: Authorization and anthropic-beta.</summary>
    public List<(string Authorization, string Beta)> ApiCalls { get; } = [];

    public static async Task<AuthorizationServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var server = new AuthorizationServer(builder.Build());
        await server._app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        server.Root = server._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return server;
    }

    /// <summary>The user consented: <paramref name="code"/> is issued for this challenge, client and redirect URI, once.</summary>
    public void Grant(string code, string challenge, string clientId, string redirectUri)
    {
        lock (_gate)
        {
            _codes[code] = (challenge, clientId, redirectUri);
        }
    }

    private async Task TokenAsync(HttpContext context)
    {
        Interlocked.Increment(ref _calls);
        Dictionary<string, string> fields = context.Request.HasFormContentType
            ? (await context.Request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString())
            : (await JsonSerializer.DeserializeAsync<Dictionary<string, string>>(context.Request.Body))!;
        LastFields = fields;
        LastContentType = context.Request.ContentType ?? "";

        bool valid;
        lock (_gate)
        {
            var code = fields.GetValueOrDefault("code") ?? "";
            valid = FailWith is null
                && fields.GetValueOrDefault("grant_type") == "authorization_code"
                && _codes.Remove(code, out var granted)
                && fields.GetValueOrDefault("client_id") == granted.ClientId
                && fields.GetValueOrDefault("redirect_uri") == granted.RedirectUri
                && fields.GetValueOrDefault("code_verifier") is { Length: >= 43 and <= 128 } verifier
                && S256(verifier) == granted.Challenge;
        }

        if (!valid)
        {
            context.Response.StatusCode = 400;
            // Echoes the code and verifier on purpose: the relay must not pass them on.
            await context.Response.WriteAsJsonAsync(new { error = FailWith ?? "invalid_grant", error_description = $"code {fields.GetValueOrDefault("code")} verifier {fields.GetValueOrDefault("code_verifier")}" });
            return;
        }

        await context.Response.WriteAsJsonAsync(new { access_token = AccessToken, refresh_token = RefreshToken, expires_in = 3600, token_type = "Bearer" });
    }

    private async Task MessagesAsync(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        lock (_gate)
        {
            ApiCalls.Add((authorization, context.Request.Headers["anthropic-beta"].ToString()));
        }

        if (authorization != "Bearer " + AccessToken)
        {
            context.Response.StatusCode = 401;
            await context.Response.WriteAsJsonAsync(new { type = "error", error = new { type = "authentication_error", message = "invalid bearer token" } });
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(
            """{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}""");
    }

    private static string S256(string verifier) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
