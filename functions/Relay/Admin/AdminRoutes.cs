using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.ApiDocs;

namespace Serverless.Relay.Admin;

/// <summary>One admin call as an endpoint sees it: the request, its route values and, for a write, its JSON object body.</summary>
internal sealed class AdminCall(HttpContext context, IReadOnlyDictionary<string, string> values, JsonElement body)
{
    public HttpContext Context => context;

    public CancellationToken Aborted => context.RequestAborted;

    /// <summary>The body of a POST, PUT or PATCH (already checked: a JSON object whose strings all read as text).</summary>
    public JsonElement Body => body;

    public IQueryCollection Query => context.Request.Query;

    /// <summary>A value of the route template, e.g. <c>id</c> of <c>accounts/{id}</c>.</summary>
    public string this[string name] => values[name];
}

internal delegate Task<AdminResult> AdminEndpoint(AdminCall call);

/// <summary>A group of admin endpoints under one path segment (<c>accounts</c>, <c>keys</c>, ...), as minimal APIs map a route group.</summary>
internal interface IAdminEndpointGroup
{
    void Map(AdminRouteGroup group);
}

/// <summary>
/// The admin API's route table: method and template (<c>accounts/{id}</c>) to endpoint. A literal segment outranks a
/// parameter (<c>accounts/events</c> before <c>accounts/{id}</c>); a path that matches with another method is a 405 that
/// lists the allowed ones. Small and typed on purpose: the whole API is one Functions function with one route
/// (<c>api/admin/{*path}</c>), so the table lives inside it rather than in the app's endpoint routing.
/// </summary>
internal sealed class AdminRoutes
{
    private static readonly string[] MethodOrder = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    private readonly List<Route> _routes = [];

    public AdminRoutes(IEnumerable<IAdminEndpointGroup> groups)
    {
        foreach (var group in groups)
        {
            group.Map(new AdminRouteGroup(this, group.GetType().Name));
        }
    }

    /// <summary>Every route as <c>METHOD template</c>, for tests and diagnostics.</summary>
    public IEnumerable<string> Describe() => _routes.Select(r => $"{r.Method} {r.Template}");

    /// <summary>Every route with what its group says of it (null where it says nothing), for the OpenAPI document.</summary>
    public IEnumerable<(string Method, string Template, ApiOperation? Operation)> Operations() =>
        _routes.Select(r => (r.Method, r.Template, r.Operation));

    internal void Add(string method, string template, AdminEndpoint endpoint)
    {
        var segments = template.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (_routes.Any(r => r.Method == method && r.Segments.SequenceEqual(segments, StringComparer.Ordinal)))
        {
            throw new InvalidOperationException($"the admin route {method} {template} is mapped twice");
        }

        _routes.Add(new Route(method, segments, endpoint));
    }

    /// <summary>Attaches the document's description to the route mapped last.</summary>
    internal void Document(ApiOperation operation)
    {
        if (_routes.Count == 0 || _routes[^1].Operation is not null)
        {
            throw new InvalidOperationException("Documented must follow the Map call of the route it describes, once");
        }

        _routes[^1] = _routes[^1] with { Operation = operation };
    }

    /// <summary>The endpoint for <paramref name="method"/> on <paramref name="path"/>, or what to answer instead.</summary>
    public Match Find(string method, string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        Route? best = null;
        Dictionary<string, string>? bestValues = null;
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var route in _routes)
        {
            if (route.TryMatch(segments) is not { } values)
            {
                continue;
            }

            if (route.Method != method)
            {
                allowed.Add(route.Method);
                continue;
            }

            if (best is null || route.Specificity > best.Specificity)
            {
                (best, bestValues) = (route, values);
            }
        }

        if (best is not null)
        {
            return new Match(best.Endpoint, bestValues!, null);
        }

        return new Match(null, null, allowed.Count == 0 ? null : string.Join(", ", MethodOrder.Where(allowed.Contains)));
    }

    /// <summary>The endpoint and its route values; or, when there is none, the methods the path allows (null: no such path).</summary>
    internal readonly record struct Match(AdminEndpoint? Endpoint, IReadOnlyDictionary<string, string>? Values, string? Allow);

    private sealed record Route(string Method, string[] Segments, AdminEndpoint Endpoint)
    {
        public ApiOperation? Operation { get; init; }

        public string Template => string.Join('/', Segments);

        /// <summary>Literal segments, earliest first, weigh most: <c>accounts/events</c> beats <c>accounts/{id}</c>.</summary>
        public int Specificity { get; } = Segments.Select((s, i) => IsParameter(s) ? 0 : 1 << (16 - i)).Sum();

        public Dictionary<string, string>? TryMatch(string[] path)
        {
            if (path.Length != Segments.Length)
            {
                return null;
            }

            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < path.Length; i++)
            {
                if (IsParameter(Segments[i]))
                {
                    values[Segments[i][1..^1]] = path[i];
                }
                else if (!string.Equals(Segments[i], path[i], StringComparison.Ordinal))
                {
                    return null;
                }
            }

            return values;
        }

        private static bool IsParameter(string segment) => segment is ['{', .., '}'];
    }
}

/// <summary>The endpoints of one group, mapped relative to its prefix.</summary>
internal sealed class AdminRouteGroup(AdminRoutes routes, string owner)
{
    private string _prefix = "";

    /// <summary>Names the group's first segment; every template after it is relative to it.</summary>
    public AdminRouteGroup MapGroup(string prefix)
    {
        _prefix = prefix.Trim('/');
        return this;
    }

    public AdminRouteGroup MapGet(string template, AdminEndpoint endpoint) => Map("GET", template, endpoint);

    public AdminRouteGroup MapPost(string template, AdminEndpoint endpoint) => Map("POST", template, endpoint);

    public AdminRouteGroup MapPut(string template, AdminEndpoint endpoint) => Map("PUT", template, endpoint);

    public AdminRouteGroup MapPatch(string template, AdminEndpoint endpoint) => Map("PATCH", template, endpoint);

    public AdminRouteGroup MapDelete(string template, AdminEndpoint endpoint) => Map("DELETE", template, endpoint);

    /// <summary>What the OpenAPI document says of the route mapped just before.</summary>
    public AdminRouteGroup Documented(ApiOperation operation)
    {
        routes.Document(operation);
        return this;
    }

    private AdminRouteGroup Map(string method, string template, AdminEndpoint endpoint)
    {
        if (_prefix.Length == 0)
        {
            throw new InvalidOperationException($"{owner} maps {method} {template} before naming its group");
        }

        routes.Add(method, template.Length == 0 ? _prefix : _prefix + "/" + template.Trim('/'), endpoint);
        return this;
    }
}
