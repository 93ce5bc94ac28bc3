using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Handler.FunctionsHost;
using Serverless.Handler.Hosting;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Hosting;

/// <summary>Every function.json has exactly one handler entry point and every public route belongs to a function.json.</summary>
public sealed class FunctionCatalogTests(AzuriteFixture azurite)
{
    [Fact]
    public void Load_EveryRepoFunction_IsProxiedHttpOrATimer()
    {
        var catalog = FunctionCatalog.Load(AppContext.BaseDirectory);

        Assert.Equal(RepoPaths.FunctionNames(), catalog.Functions.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.All(catalog.Functions, function => Assert.True(function.IsProxiedHttp || function.TimerTrigger is not null, function.Name));
        Assert.All(catalog.Functions.Where(f => f.HttpTrigger is not null), function => Assert.Equal(InvocationProtocol.ProxiedHttp, function.Protocol));
        Assert.Equal("api/admin/{*path}", catalog.Functions.Single(f => f.Name == "Admin").HttpRoute);
        Assert.Equal("0 */5 * * * *", catalog.Functions.Single(f => f.Name == "RefreshTokens").TimerTrigger!.Schedule);
    }

    [Fact]
    public void FunctionJson_HttpTriggers_AreAnonymous()
    {
        // The relay authenticates with its own keys; a function key would make every SDK call fail with 401.
        foreach (var file in FunctionCatalog.Load(AppContext.BaseDirectory).Functions.Where(f => f.IsProxiedHttp).Select(f => Path.Combine(AppContext.BaseDirectory, f.Name, "function.json")))
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!;
            var trigger = json["bindings"]!.AsArray().Single(b => (string?)b!["type"] == "httpTrigger")!;
            Assert.Equal("anonymous", (string?)trigger["authLevel"]);
        }
    }

    [Fact]
    public async Task MapFunctions_EveryPublicRoute_BelongsToAFunctionJson()
    {
        await using var host = await RelayHost.StartAsync(azurite);
        var catalog = FunctionCatalog.Load(AppContext.BaseDirectory);
        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToArray();

        var probe = Assert.Single(endpoints, e => e.RoutePattern.RawText == "/");
        Assert.Null(probe.Metadata.GetMetadata<IEndpointNameMetadata>());
        var functionEndpoints = endpoints.Where(e => e != probe).ToArray();
        Assert.Equal(
            catalog.Functions.Where(f => f.IsProxiedHttp).Select(f => (f.Name, "/" + f.HttpTrigger!.Route)).Order(),
            functionEndpoints.Select(e => (e.Metadata.GetMetadata<IEndpointNameMetadata>()!.EndpointName, e.RoutePattern.RawText!)).Order());
    }

    [Fact]
    public void Build_FunctionJsonWithoutEntryPoint_FailsNamingIt()
    {
        var root = CopyAppRoot();
        Directory.CreateDirectory(Path.Combine(root, "Orphan"));
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(root, "Models", "function.json")))!;
        json["bindings"]![0]!["route"] = "v1/orphan"; // a route of its own: the same route twice is the host's refusal
        File.WriteAllText(Path.Combine(root, "Orphan", "function.json"), json.ToJsonString());

        var error = Assert.Throws<FunctionCatalogException>(() => Build(root));

        Assert.Equal("The app's functions do not match the handler: Orphan: function.json has no handler entry point", error.Message);
    }

    [Fact]
    public void Build_EntryPointWithoutFunctionJson_FailsNamingIt()
    {
        var root = CopyAppRoot();
        Directory.Delete(Path.Combine(root, "Models"), recursive: true);

        var error = Assert.Throws<FunctionCatalogException>(() => Build(root));

        Assert.Equal("The app's functions do not match the handler: Models: handler entry point has no function.json", error.Message);
    }

    // ----- what the Functions host refuses (azure-functions-host ScriptHost.ValidateHttpFunction / ValidateFunction) -----

    [Theory]
    [InlineData("admin/{*path}")]
    [InlineData("/Admin/keys")]
    [InlineData("administrator")]
    [InlineData("runtime/webhooks/x")]
    [InlineData("RUNTIME")]
    public void Load_RouteUnderAReservedPrefix_RefusedWithTheHostsMessage(string route)
    {
        var root = EmptyAppRoot();
        WriteFunction(root, "Reserved", HttpFunctionJson(route, "get"));

        var error = Assert.Throws<FunctionCatalogException>(() => FunctionCatalog.Load(root));

        Assert.Equal("The Functions host would refuse these functions: Reserved: The specified route conflicts with one or more built in routes.", error.Message);
    }

    [Theory]
    [InlineData("x/y", "x/y", """["get"]""", """["get", "post"]""")]
    [InlineData("x/y", "/X/Y/", """["post"]""", """["POST"]""")]
    [InlineData("x/{id}", "x/{id}", """["get"]""", "null")]
    [InlineData("x", "x", "null", """["delete"]""")]
    public void Load_SameRouteWithMethodsInCommon_RefusedNamingTheEarlierFunction(string firstRoute, string secondRoute, string firstMethods, string secondMethods)
    {
        var root = EmptyAppRoot();
        WriteFunction(root, "First", HttpFunctionJson(firstRoute, firstMethods));
        WriteFunction(root, "Second", HttpFunctionJson(secondRoute, secondMethods));

        var error = Assert.Throws<FunctionCatalogException>(() => FunctionCatalog.Load(root));

        Assert.Equal("The Functions host would refuse these functions: Second: The route specified conflicts with the route defined by function 'First'.", error.Message);
    }

    [Fact]
    public void Load_SameRouteDisjointMethods_Loads()
    {
        var root = EmptyAppRoot();
        WriteFunction(root, "First", HttpFunctionJson("x/y", """["get"]"""));
        WriteFunction(root, "Second", HttpFunctionJson("x/y", """["put", "post"]"""));

        var catalog = FunctionCatalog.Load(root);

        Assert.Equal(["First", "Second"], catalog.Functions.Select(f => f.Name));
    }

    [Fact]
    public void Load_EveryRefusal_ReportedAtOnce()
    {
        var root = EmptyAppRoot();
        WriteFunction(root, "A", HttpFunctionJson("admin/x", """["get"]"""));
        WriteFunction(root, "B", HttpFunctionJson("same", """["get"]"""));
        WriteFunction(root, "C", HttpFunctionJson("same", """["get"]"""));

        var error = Assert.Throws<FunctionCatalogException>(() => FunctionCatalog.Load(root));

        Assert.Equal(
            "The Functions host would refuse these functions: A: The specified route conflicts with one or more built in routes.; "
            + "C: The route specified conflicts with the route defined by function 'B'.",
            error.Message);
    }

    [Fact]
    public void Load_HttpTriggerWithAnExtraBinding_NotRefusedButInvokedWithTheJsonProtocol()
    {
        // The host accepts it, but proxies only exactly one httpTrigger in and one http out (IsHttpInAndOutFunction).
        var root = EmptyAppRoot();
        WriteFunction(root, "WithQueue", """
            {"bindings": [
              {"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": ["post"], "route": "hooks/x"},
              {"type": "http", "direction": "out", "name": "res"},
              {"type": "serviceBus", "direction": "out", "name": "message", "queueName": "q", "connection": "ServiceBus"}
            ]}
            """);
        WriteFunction(root, "Plain", HttpFunctionJson("hooks/y", """["post"]""", httpType: "HttpTrigger"));

        var catalog = FunctionCatalog.Load(root);

        var withQueue = catalog.Functions.Single(f => f.Name == "WithQueue");
        Assert.False(withQueue.IsProxiedHttp);
        Assert.Equal(InvocationProtocol.JsonInvocation, withQueue.Protocol);
        Assert.Equal("hooks/x", withQueue.HttpRoute);
        Assert.Equal(InvocationProtocol.ProxiedHttp, catalog.Functions.Single(f => f.Name == "Plain").Protocol);
    }

    [Fact]
    public void Build_AdminFunctionUnderTheReservedAdminRoute_RefusedAtStart()
    {
        var root = CopyAppRoot();
        var file = Path.Combine(root, "Admin", "function.json");
        File.WriteAllText(file, File.ReadAllText(file).Replace("api/admin/{*path}", "admin/{*path}", StringComparison.Ordinal));

        var error = Assert.Throws<FunctionCatalogException>(() => Build(root));

        Assert.Equal("The Functions host would refuse these functions: Admin: The specified route conflicts with one or more built in routes.", error.Message);
    }

    [Fact]
    public void Build_HttpFunctionForTheJsonProtocol_FailsSayingItIsNotProxied()
    {
        var root = CopyAppRoot();
        var file = Path.Combine(root, "Models", "function.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!;
        json["bindings"]!.AsArray().Add(System.Text.Json.Nodes.JsonNode.Parse("""{"type": "queue", "direction": "out", "name": "q", "queueName": "x"}"""));
        File.WriteAllText(file, json.ToJsonString());

        var error = Assert.Throws<FunctionCatalogException>(() => Build(root));

        Assert.Equal(
            "The app's functions do not match the handler: Models: its bindings are not exactly one httpTrigger in and one http out, "
            + "so the host would use the JSON invocation protocol, which this handler serves only for timer functions",
            error.Message);
    }

    private static string EmptyAppRoot()
    {
        var root = Directory.CreateTempSubdirectory("approot").FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, "host.json"), Path.Combine(root, "host.json"));
        return root;
    }

    private static void WriteFunction(string root, string name, string json)
    {
        Directory.CreateDirectory(Path.Combine(root, name));
        File.WriteAllText(Path.Combine(root, name, "function.json"), json);
    }

    private static string HttpFunctionJson(string route, string methods, string httpType = "httpTrigger")
    {
        var methodsJson = methods.StartsWith('[') || methods == "null" ? methods : $"[\"{methods}\"]";
        return $$"""
            {"bindings": [
              {"type": "{{httpType}}", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": {{methodsJson}}, "route": "{{route}}"},
              {"type": "http", "direction": "out", "name": "res"}
            ]}
            """;
    }

    [Fact]
    public async Task Build_WithoutUrls_LocalModeListensOn7071()
    {
        await using var app = HandlerApp.Build([], builder => builder.Configuration.AddInMemoryCollection(Settings(AppContext.BaseDirectory)));

        Assert.Equal("http://localhost:7071", app.Configuration["urls"]);
    }

    private Dictionary<string, string?> Settings(string root) => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["RELAY_ADMIN_KEY"] = "x",
        ["RELAY_APP_ROOT"] = root,
        ["RELAY_EPHEMERAL_STORAGE"] = "true",
    };

    private void Build(string root) =>
        HandlerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(Settings(root)));

    private static string CopyAppRoot()
    {
        var root = Directory.CreateTempSubdirectory("approot").FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, "host.json"), Path.Combine(root, "host.json"));
        foreach (var function in FunctionCatalog.Load(AppContext.BaseDirectory).Functions)
        {
            Directory.CreateDirectory(Path.Combine(root, function.Name));
            File.Copy(Path.Combine(AppContext.BaseDirectory, function.Name, "function.json"), Path.Combine(root, function.Name, "function.json"));
        }

        return root;
    }
}
