using System.Collections.Concurrent;
using System.Net;
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

namespace Serverless.Tests.Infrastructure;

/// <summary>One request as it reached the simulated platform API.</summary>
public sealed record PlatformRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public JsonElement Json
    {
        get
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.Clone();
        }
    }

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>When the request reached the simulated API (the system clock), so a test can tell a scheduled retry came later.</summary>
    public DateTimeOffset ReceivedAt { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>A scripted answer: status, JSON body and extra headers (e.g. <c>Retry-After</c>).</summary>
public sealed record PlatformAnswer(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null);

/// <summary>
/// The five IM platforms' APIs on one loopback Kestrel server (random port), for adapter tests and the end-to-end IM
/// tests: every request is recorded, each route answers as the platform does when all is well (tokens numbered
/// <c>t-1</c>, <c>t-2</c>… so a test sees a refresh), and <see cref="Script"/> makes the next matching requests answer
/// something else (a 429 with retry_after, an error code). Point a channel's <c>apiBaseUrl</c> at <see cref="BaseUrl"/>
/// (Slack's at <c>{BaseUrl}/api</c>); a DingTalk sessionWebhook at <c>{BaseUrl}/robot/sendBySession?session=…</c>.
/// </summary>
public sealed class SimulatedPlatformApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<PlatformRequest> _requests = new();
    private readonly ConcurrentQueue<(string PathEnd, PlatformAnswer Answer)> _script = new();
    private readonly Lock _gate = new();
    private int _tokens;

    private SimulatedPlatformApi(WebApplication app)
    {
        _app = app;
        _app.Run(HandleAsync);
    }

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Every request so far, in arrival order.</summary>
    public IReadOnlyList<PlatformRequest> Requests => [.. _requests];

    /// <summary>Requests whose path ends with <paramref name="pathEnd"/>.</summary>
    public IReadOnlyList<PlatformRequest> RequestsTo(string pathEnd) => [.. _requests.Where(r => r.Path.EndsWith(pathEnd, StringComparison.Ordinal))];

    /// <summary>How many access tokens the token routes have issued.</summary>
    public int TokensIssued => Volatile.Read(ref _tokens);

    /// <summary>Token lifetime in seconds the token routes report.</summary>
    public int TokenLifetimeSeconds { get; set; } = 7200;

    public static async Task<SimulatedPlatformApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var api = new SimulatedPlatformApi(builder.Build());
        await api._app.StartAsync();
        var address = api._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        api.BaseUrl = new Uri(address);
        return api;
    }

    /// <summary>The next request whose path ends with <paramref name="pathEnd"/> gets <paramref name="answer"/> (scripts are used in order, once each).</summary>
    public void Script(string pathEnd, PlatformAnswer answer) => _script.Enqueue((pathEnd, answer));

    public static PlatformAnswer RetryAfterHeader(int status, string body, int seconds) =>
        new(status, body, new Dictionary<string, string> { ["Retry-After"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var request = new PlatformRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "",
            context.Request.QueryString.Value ?? "",
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            buffer.ToArray());
        _requests.Enqueue(request);

        var answer = TakeScripted(request.Path) ?? Default(request.Path);
        context.Response.StatusCode = answer.Status;
        foreach (var (name, value) in answer.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(answer.Body));
    }

    private PlatformAnswer? TakeScripted(string path)
    {
        lock (_gate)
        {
            // Take the first script for this path, keeping the others in order.
            var all = new List<(string PathEnd, PlatformAnswer Answer)>();
            while (_script.TryDequeue(out var entry))
            {
                all.Add(entry);
            }

            var index = all.FindIndex(e => path.EndsWith(e.PathEnd, StringComparison.Ordinal));
            PlatformAnswer? found = index >= 0 ? all[index].Answer : null;
            for (var i = 0; i < all.Count; i++)
            {
                if (i != index)
                {
                    _script.Enqueue(all[i]);
                }
            }

            return found;
        }
    }

    private PlatformAnswer Default(string path) => path switch
    {
        _ when path.EndsWith("/sendMessage", StringComparison.Ordinal) => new(200, """{"ok":true,"result":{"message_id":1}}"""),
        _ when path.EndsWith("/chat.postMessage", StringComparison.Ordinal) => new(200, """{"ok":true,"ts":"1.2"}"""),
        _ when path.EndsWith("/tenant_access_token/internal", StringComparison.Ordinal) =>
            new(200, $$"""{"code":0,"msg":"ok","tenant_access_token":"t-{{Interlocked.Increment(ref _tokens)}}","expire":{{TokenLifetimeSeconds}}}"""),
        _ when path.EndsWith("/reply", StringComparison.Ordinal) => new(200, """{"code":0,"msg":"success","data":{}}"""),
        _ when path.EndsWith("/cgi-bin/gettoken", StringComparison.Ordinal) =>
            new(200, $$"""{"errcode":0,"errmsg":"ok","access_token":"w-{{Interlocked.Increment(ref _tokens)}}","expires_in":{{TokenLifetimeSeconds}}}"""),
        _ when path.EndsWith("/cgi-bin/message/send", StringComparison.Ordinal) => new(200, """{"errcode":0,"errmsg":"ok"}"""),
        _ => new(200, """{"errcode":0,"errmsg":"ok"}"""),
    };

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
