using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.ApiDocs;

namespace Serverless.Relay.Admin;

/// <summary>
/// The admin API's OpenAPI 3.1 document, built once from the route table (every admin route and what its group says of
/// it) and the quota functions' routes.
/// </summary>
internal sealed class AdminApiDocument(AdminRoutes routes)
{
    public const string Title = "Serverless LLM Relay admin API";

    private readonly Lazy<byte[]> _json = new(() => ApiDocument.Write([.. RoutesOf(routes)], Title,
        "Keys, upstream accounts, model groups, pricing, usage, quotas, the audit trail, IM channels and notification targets. " +
        "Admin routes take the operator's RELAY_ADMIN_KEY as a bearer token; the quota routes take a relay key."));

    public ReadOnlyMemory<byte> Json => _json.Value;

    /// <summary>Every route, as the document lists it; a route its group left undocumented is listed as such (a test refuses that).</summary>
    public static IEnumerable<ApiRoute> RoutesOf(AdminRoutes routes) =>
        routes.Operations()
            .Select(r => new ApiRoute(r.Method, AdminFunction.PathPrefix + r.Template, r.Operation ?? new ApiOperation("(undocumented)")))
            .Concat(QuotaFunction.Routes)
            .Append(KeyInfoFunction.Route);
}

/// <summary><c>GET openapi.json</c>: the document itself.</summary>
internal sealed class OpenApiEndpoints(IServiceProvider services) : IAdminEndpointGroup
{
    public void Map(AdminRouteGroup group) => group.MapGroup("openapi.json")
        .MapGet("", GetAsync).Documented(new("This document (OpenAPI 3.1)") { Response = ApiSchema.Any("An OpenAPI 3.1 document.") });

    // NOTE: resolved at the first call, not injected: the document describes the route table that holds this endpoint.
    private Task<AdminResult> GetAsync(AdminCall call)
    {
        var json = services.GetRequiredService<AdminApiDocument>().Json;
        return Task.FromResult(AdminResult.Ok(writer => writer.WriteRawValue(json.Span, skipInputValidation: true)));
    }
}
