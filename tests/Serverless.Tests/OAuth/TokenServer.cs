using System.Net;
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
/// A loopback OAuth token endpoint (<c>POST /token</c>, RFC 6749 refresh grant, form or JSON body) with rotating
/// refresh tokens: each refresh token works once, as Anthropic's do, so a second racing refresh would fail.
/// </summary>
internal sealed class TokenServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private int _issued;
    private string _validRefresh = "rt-0";

    private TokenServer(WebApplication app)
    {
        _app = app;
        _app.MapPost("/token", HandleAsync);
    }

    public string TokenUrl { get; private set; } = "";

    /// <summary>Every refresh call, valid or not.</summary>
    public int Calls => Volatile.Read(ref _calls);

    private int _calls;

    public TimeSpan Delay { get; set; }

    public int ExpiresIn { get; set; } = 3600;

    /// <summary>When set, every refresh is refused with this OAuth error.</summary>
    public string? FailWith { get; set; }

    /// <summary>Called with each access token issued (e.g. to make a loopback upstream accept it).</summary>
    public Action<string>? OnIssued { get; set; }

    public List<string> ContentTypes { get; } = [];

    public static async Task<TokenServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var server = new TokenServer(builder.Build());
        await server._app.StartAsync();
        var address = server._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.TokenUrl = address + "/token";
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _calls);
        Dictionary<string, string> fields;
        lock (_gate)
        {
            ContentTypes.Add(context.Request.ContentType ?? "");
        }

        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync();
            fields = form.ToDictionary(f => f.Key, f => f.Value.ToString());
        }
        else
        {
            fields = (await JsonSerializer.DeserializeAsync<Dictionary<string, string>>(context.Request.Body))!;
        }

        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay);
        }

        string access, refresh;
        lock (_gate)
        {
            if (FailWith is not null || fields.GetValueOrDefault("grant_type") != "refresh_token" || fields.GetValueOrDefault("refresh_token") != _validRefresh || fields.GetValueOrDefault("client_id") != "client-1")
            {
                context.Response.StatusCode = 400;
                _ = context.Response.WriteAsJsonAsync(new { error = FailWith ?? "invalid_grant", error_description = "refresh token " + fields.GetValueOrDefault("refresh_token") });
                return;
            }

            _issued++;
            access = "at-" + _issued;
            refresh = "rt-" + _issued;
            _validRefresh = refresh;
        }

        OnIssued?.Invoke(access);
        await context.Response.WriteAsJsonAsync(new { access_token = access, refresh_token = refresh, expires_in = ExpiresIn, token_type = "Bearer" });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
