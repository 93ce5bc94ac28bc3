using System.Globalization;
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
using Serverless.Tests.Infrastructure;

namespace Serverless.Tests.Upstreams;

/// <summary>
/// A real HTTP server on loopback that plays OpenAI, Azure OpenAI, Anthropic and Gemini, written by hand from their
/// public wire formats (never from the relay's own format code, so a translation bug cannot hide in both).
/// Every endpoint records the request first, then checks its credential, the <see cref="Script"/>'s failure, and
/// the format's essentials, and finally answers by <see cref="ReplyRule"/>.
/// </summary>
public sealed class LoopbackUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private UpstreamScript _script = new();
    private int _failuresServed;
    private readonly PeakGauge _inFlight = new();
    private ConnectionCount _connections = new();

    private LoopbackUpstream(WebApplication app)
    {
        _app = app;
        _app.Run(HandleAsync);
    }

    /// <summary><c>http://127.0.0.1:&lt;port&gt;/</c></summary>
    public Uri Root { get; private set; } = null!;

    /// <summary>Base URL for OpenAI-shaped accounts (openai, openrouter, ollama, openai-compatible).</summary>
    public string OpenAIBaseUrl => Root + "v1";

    /// <summary>The relay appends <c>/openai/deployments/{deployment}/chat/completions?api-version=…</c>.</summary>
    public string AzureBaseUrl => Root.ToString().TrimEnd('/');

    /// <summary>The relay appends <c>/v1/messages</c>.</summary>
    public string AnthropicBaseUrl => Root.ToString().TrimEnd('/');

    /// <summary>The relay appends <c>/v1beta/models/{model}:…</c>.</summary>
    public string GeminiBaseUrl => Root.ToString().TrimEnd('/');

    /// <summary>The credential every endpoint demands, each in its own header.</summary>
    public string ApiKey { get; set; } = "upstream-secret";

    /// <summary>How to behave for the next requests; setting it restarts the <see cref="UpstreamScript.FailTimes"/> count.</summary>
    public UpstreamScript Script
    {
        get => Volatile.Read(ref _script);
        set
        {
            lock (_gate)
            {
                _script = value;
                _failuresServed = 0;
            }
        }
    }

    /// <summary>A snapshot of every request so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public RecordedRequest LastRequest
    {
        get
        {
            lock (_gate)
            {
                return _requests.Count > 0 ? _requests[^1] : throw new InvalidOperationException("No request has reached the loopback upstream yet.");
            }
        }
    }

    public static async Task<LoopbackUpstream> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var connections = new ConnectionCount();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => async connection =>
        {
            connections.Opened();
            try
            {
                await next(connection);
            }
            finally
            {
                connections.Closed();
            }
        })));
        var upstream = new LoopbackUpstream(builder.Build()) { _connections = connections };
        await upstream._app.StartAsync(cancellationToken);

        // Port 0 lets the OS pick; the bound address is only known after start.
        var address = upstream._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var port = new Uri(address).Port;
        upstream.Root = new Uri($"http://127.0.0.1:{port}/");
        return upstream;
    }

    /// <summary>The most requests this fake has been handling at once since it started.</summary>
    public int MaxInFlight => _inFlight.Peak;

    /// <summary>The most TCP connections open to this fake at once since it started.</summary>
    public int MaxConnections => _connections.Max;

    /// <summary>TCP connections accepted since it started.</summary>
    public int ConnectionsAccepted => _connections.Accepted;

    /// <summary>Forgets recorded requests and returns to the default script.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _requests.Clear();
            _script = new();
            _failuresServed = 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        _inFlight.Enter();
        try
        {
            await HandleOneAsync(context);
        }
        finally
        {
            _inFlight.Leave();
        }
    }

    private async Task HandleOneAsync(HttpContext context)
    {
        var request = context.Request;
        var endpoint = Route(request);

        // 1. Record before anything can refuse, so tests see what the relay sent even when it was wrong.
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted);
        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var recorded = new RecordedRequest(
            request.Method, request.Path.ToUriComponent() + request.QueryString.ToUriComponent(), headers, buffer.ToArray(),
            endpoint?.Dialect ?? UpstreamDialect.Unknown);
        UpstreamScript script;
        bool fail;
        lock (_gate)
        {
            _requests.Add(recorded);
            script = _script;
            fail = (script.FailStatus is not null || script.Hang || script.Reset) && (script.FailTimes is null || _failuresServed < script.FailTimes);
        }

        if (endpoint is null)
        {
            await WriteFailureAsync(context, OpenAIAuth.Error(StatusCodes.Status404NotFound, $"Invalid URL ({request.Method} {request.Path})", null, null));
            return;
        }

        // 2. Credential, then the scripted failure, then the format's own rules.
        if (endpoint.Authenticate(request, ApiKey) is { } unauthorized)
        {
            await WriteFailureAsync(context, unauthorized);
            return;
        }

        if (fail)
        {
            lock (_gate)
            {
                _failuresServed++;
            }

            if (script.Hang)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The caller gave up, as it should.
                }

                return;
            }

            if (script.Reset)
            {
                context.Abort();
                return;
            }

            if (script.RetryAfter is { } retryAfter)
            {
                context.Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            }

            await WriteFailureAsync(context, endpoint.Error(script.FailStatus!.Value, script.FailMessage));
            return;
        }

        JsonElement body;
        try
        {
            using var document = JsonDocument.Parse(recorded.Body);
            body = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            await WriteFailureAsync(context, endpoint.Error(StatusCodes.Status400BadRequest, endpoint.MalformedJsonMessage));
            return;
        }

        if (endpoint.Validate(body, request) is { } invalid)
        {
            await WriteFailureAsync(context, endpoint.Refuse(invalid));
            return;
        }

        // 3. Answer.
        if (script.BeforeAnswer is { } before)
        {
            await before(context.RequestAborted);
        }

        await endpoint.AnswerAsync(context, body, script);
    }

    private static UpstreamEndpoint? Route(HttpRequest request)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return null;
        }

        var path = request.Path.Value ?? "";
        switch (path)
        {
            case "/v1/chat/completions": return new OpenAIChatEndpoint(azureDeployment: null);
            case "/v1/responses": return new ResponsesEndpoint();
            case "/v1/responses/compact": return new ResponsesCompactEndpoint();
            case "/v1/messages": return new AnthropicEndpoint(countTokens: false);
            case "/v1/messages/count_tokens": return new AnthropicEndpoint(countTokens: true);
        }

        const string AzurePrefix = "/openai/deployments/";
        const string AzureSuffix = "/chat/completions";
        if (path.StartsWith(AzurePrefix, StringComparison.Ordinal) && path.EndsWith(AzureSuffix, StringComparison.Ordinal))
        {
            var deployment = path[AzurePrefix.Length..^AzureSuffix.Length];
            return deployment.Length > 0 && !deployment.Contains('/', StringComparison.Ordinal) ? new OpenAIChatEndpoint(deployment) : null;
        }

        // NOTE: "models/{model}:{action}" has a colon inside one segment, which route templates cannot split; split by hand on the last ':'.
        const string GeminiPrefix = "/v1beta/models/";
        if (path.StartsWith(GeminiPrefix, StringComparison.Ordinal))
        {
            var rest = path[GeminiPrefix.Length..];
            var colon = rest.LastIndexOf(':');
            if (colon > 0 && rest[(colon + 1)..] is GeminiEndpoint.Generate or GeminiEndpoint.Stream or GeminiEndpoint.Count)
            {
                return new GeminiEndpoint(rest[..colon], rest[(colon + 1)..]);
            }
        }

        return null;
    }

    private static Task WriteFailureAsync(HttpContext context, UpstreamFailure failure)
    {
        context.Response.StatusCode = failure.Status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(WireJson.Write(failure.Body), context.RequestAborted);
    }

    /// <summary>Connections open now and at most, counted by Kestrel's connection middleware.</summary>
    private sealed class ConnectionCount
    {
        private readonly PeakGauge _open = new();
        private int _accepted;

        public int Max => _open.Peak;

        public int Accepted => Volatile.Read(ref _accepted);

        public void Opened()
        {
            Interlocked.Increment(ref _accepted);
            _open.Enter();
        }

        public void Closed() => _open.Leave();
    }
}
