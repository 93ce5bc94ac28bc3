using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Serverless.Relay.Admin;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.OpenApi;

/// <summary>
/// <c>GET /api/admin/openapi.json</c> against the running relay: a valid OpenAPI 3.1 document that lists every admin
/// and quota route and nothing else, and whose routes answer as it says, on a relay holding one of everything.
/// </summary>
public sealed class AdminApiDocumentTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private LoopbackUpstream _upstream = null!;
    private RelayHost _host = null!;
    private AdminSeed _seed = null!;
    private JsonElement _document;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _upstream = await LoopbackUpstream.StartAsync(CancellationToken.None);
        _host = await RelayHost.StartAsync(azurite);
        _seed = await AdminSeed.CreateAsync(_host, _upstream);
        var answer = await _host.SendAsync(HttpMethod.Get, "api/admin/openapi.json", ct: Ct);
        Assert.True(answer.Status == 200, $"openapi.json: {answer.Status} {answer.Body}");
        _document = answer.Json.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Document_ReadByMicrosoftOpenApi_Version31WithoutErrors()
    {
        var text = (await _host.SendAsync(HttpMethod.Get, "api/admin/openapi.json", ct: Ct)).Body;

        var read = OpenApiDocument.Parse(text, "json", new OpenApiReaderSettings());

        Assert.Empty(read.Diagnostic!.Errors.Select(e => $"{e.Pointer}: {e.Message}"));
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, read.Diagnostic.SpecificationVersion);
        Assert.Equal(AdminApiDocument.Title, read.Document!.Info.Title);
        Assert.StartsWith("3.1", _document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Document_ListsEveryAdminAndQuotaRouteDocumented_AndNoOther()
    {
        var served = _host.Services.GetRequiredService<AdminRoutes>().Describe()
            .Select(r => r.Split(' ', 2))
            .Select(r => $"{r[0]} /api/admin/{r[1]}")
            .Concat(["GET /api/v1/quota", "GET /api/v1/quota/{userId}", "PUT /api/v1/quota/{userId}", "GET /v1/key-info"])
            .Order(StringComparer.Ordinal);

        var documented = Operations().Select(o => $"{o.Method.ToUpperInvariant()} {o.Path}").Order(StringComparer.Ordinal);

        Assert.Equal(served, documented);
        Assert.Contains("GET /api/admin/openapi.json", documented);
        Assert.All(Operations(), o => Assert.NotEqual("(undocumented)", o.Operation.GetProperty("summary").GetString()));
    }

    [Fact]
    public async Task EveryGet_AnswersTwoHundred_WithABodyOfItsDocumentedSchema()
    {
        var conformance = new SchemaConformance(_document);
        var checkedRoutes = 0;
        foreach (var (method, path, operation) in Operations().Where(o => o.Method == "get"))
        {
            var answer = await _host.SendAsync(HttpMethod.Get, Concrete(path), key: KeyFor(path), ct: Ct);

            Assert.True(answer.Status == 200, $"GET {path}: {answer.Status} {answer.Body}");
            var schema = operation.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema");
            Assert.Empty(conformance.Check(answer.Json, schema).Select(p => $"GET {path}: {p}"));
            checkedRoutes++;
        }

        Assert.True(checkedRoutes >= 18, $"only {checkedRoutes} GET routes");
    }

    [Fact]
    public async Task EveryWriteWithABody_NotAnObject_AnswersItsDocumented400InTheErrorShape()
    {
        var conformance = new SchemaConformance(_document);
        var error = _document.GetProperty("components").GetProperty("schemas").GetProperty("Error");
        var writes = Operations().Where(o => o.Operation.TryGetProperty("requestBody", out _)).ToList();
        foreach (var (method, path, operation) in writes)
        {
            Assert.True(operation.GetProperty("responses").TryGetProperty("400", out _), $"{method} {path} documents no 400");
            var answer = await _host.SendAsync(new HttpMethod(method.ToUpperInvariant()), Concrete(path), "[1, 2]", key: KeyFor(path), ct: Ct);

            Assert.True(answer.Status == 400, $"{method} {path}: {answer.Status} {answer.Body}");
            Assert.Empty(conformance.Check(answer.Json, error).Select(p => $"{method} {path}: {p}"));
        }

        Assert.True(writes.Count >= 10, $"only {writes.Count} writes");
    }

    [Fact]
    public async Task EveryRouteOfAnUnknownId_AnswersItsDocumented404()
    {
        var byId = Operations().Where(o => o.Path.Contains("/{id}", StringComparison.Ordinal) || o.Path.EndsWith("/{name}", StringComparison.Ordinal)).ToList();
        foreach (var (method, path, operation) in byId)
        {
            Assert.True(operation.GetProperty("responses").TryGetProperty("404", out _), $"{method} {path} documents no 404");
            var unknown = path.Replace("{id}", path.Contains("/keys/", StringComparison.Ordinal) ? "key_0000000000000000" : "x_0000000000000000", StringComparison.Ordinal)
                .Replace("{name}", "no-such-group", StringComparison.Ordinal);
            var body = method is "post" or "put" or "patch" ? "{}" : null;

            var answer = await _host.SendAsync(new HttpMethod(method.ToUpperInvariant()), unknown.TrimStart('/'), body, ct: Ct);

            Assert.True(answer.Status == 404, $"{method} {unknown}: {answer.Status} {answer.Body}");
        }

        Assert.True(byId.Count >= 15, $"only {byId.Count} routes by id");
    }

    /// <summary>The admin key, except where a route answers for the calling relay key itself.</summary>
    private string KeyFor(string path) => path is "/api/v1/quota" or "/v1/key-info" ? _seed.Ids["key"] : "";

    private IEnumerable<(string Method, string Path, JsonElement Operation)> Operations() =>
        _document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (op.Name, path.Name, op.Value)));

    /// <summary>A documented path with the seed's ids in place of its parameters, relative to the relay's root.</summary>
    private string Concrete(string path)
    {
        if (path.StartsWith("/api/admin/", StringComparison.Ordinal))
        {
            return "api/admin/" + _seed.PathOf(path["/api/admin/".Length..]);
        }

        return path.Replace("{userId}", _seed.Ids["owner"], StringComparison.Ordinal).TrimStart('/');
    }
}
