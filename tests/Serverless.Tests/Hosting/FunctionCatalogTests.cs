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
    public void Load_EveryRepoFunction_IsProxiedHttpATimerOrServiceBus()
    {
        var catalog = FunctionCatalog.Load(AppContext.BaseDirectory);

        Assert.Equal(RepoPaths.FunctionNames(), catalog.Functions.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.All(catalog.Functions, function => Assert.True(function.IsProxiedHttp || function.TimerTrigger is not null || function.ServiceBusTrigger is not null, function.Name));
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
        // Service Bus functions are invoked at POST /{Name} in local mode too: by the local trigger, on loopback.
        Assert.Equal(
            catalog.Functions.Where(f => f.IsProxiedHttp).Select(f => (f.Name, "/" + f.HttpTrigger!.Route))
                .Concat(catalog.Functions.Where(f => f.ServiceBusTrigger is not null).Select(f => (f.Name, "/" + f.Name))).Order(),
            functionEndpoints.Select(e => (e.Metadata.GetMetadata<IEndpointNameMetadata>()!.EndpointName, e.RoutePattern.RawText!)).Order());
    }

    [Fact]
    public void Build_FunctionJsonWithoutEntryPoint_FailsNamingIt()
    {
        var root = AppRoot.Copy();
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
        var root = AppRoot.Copy();
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
        var root = AppRoot.Empty();
        AppRoot.WriteFunction(root, "Reserved", HttpFunctionJson(route, "get"));

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
        var root = AppRoot.Empty();
        AppRoot.WriteFunction(root, "First", HttpFunctionJson(firstRoute, firstMethods));
        AppRoot.WriteFunction(root, "Second", HttpFunctionJson(secondRoute, secondMethods));

        var error = Assert.Throws<FunctionCatalogException>(() => FunctionCatalog.Load(root));

        Assert.Equal("The Functions host would refuse these functions: Second: The route specified conflicts with the route defined by function 'First'.", error.Message);
    }

    [Fact]
    public void Load_SameRouteDisjointMethods_Loads()
    {
        var root = AppRoot.Empty();
        AppRoot.WriteFunction(root, "First", HttpFunctionJson("x/y", """["get"]"""));
        AppRoot.WriteFunction(root, "Second", HttpFunctionJson("x/y", """["put", "post"]"""));

        var catalog = FunctionCatalog.Load(root);

        Assert.Equal(["First", "Second"], catalog.Functions.Select(f => f.Name));
    }

    [Fact]
    public void Load_EveryRefusal_ReportedAtOnce()
    {
        var root = AppRoot.Empty();
        AppRoot.WriteFunction(root, "A", HttpFunctionJson("admin/x", """["get"]"""));
        AppRoot.WriteFunction(root, "B", HttpFunctionJson("same", """["get"]"""));
        AppRoot.WriteFunction(root, "C", HttpFunctionJson("same", """["get"]"""));

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
        var root = AppRoot.Empty();
        AppRoot.WriteFunction(root, "WithQueue", """
            {"bindings": [
              {"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": ["post"], "route": "hooks/x"},
              {"type": "http", "direction": "out", "name": "res"},
              {"type": "serviceBus", "direction": "out", "name": "message", "queueName": "q", "connection": "ServiceBus"}
            ]}
            """);
        AppRoot.WriteFunction(root, "Plain", HttpFunctionJson("hooks/y", """["post"]""", httpType: "HttpTrigger"));

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
        var root = AppRoot.Copy();
        var file = Path.Combine(root, "Admin", "function.json");
        File.WriteAllText(file, File.ReadAllText(file).Replace("api/admin/{*path}", "admin/{*path}", StringComparison.Ordinal));

        var error = Assert.Throws<FunctionCatalogException>(() => Build(root));

        Assert.Equal("The Functions host would refuse these functions: Admin: The specified route conflicts with one or more built in routes.", error.Message);
    }

    [Fact]
    public void Build_HttpFunctionForTheJsonProtocol_FailsSayingItIsNotProxied()
    {
        var root = AppRoot.Copy();
        var file = Path.Combine(root, "Models", "function.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!;
        json["bindings"]!.AsArray().Add(System.Text.Json.Nodes.JsonNode.Parse("""{"type": "queue", "direction": "out", "name": "q", "queueName": "x"}"""));
        File.WriteAllText(file, json.ToJsonString());

        var error = Assert.Throws<FunctionCatalogException>(() => Build(root));

        Assert.Equal(
            "The app's functions do not match the handler: Models: its bindings are not exactly one httpTrigger in and one http out, "
            + "so the host would use the JSON invocation protocol, which this handler serves only for timer and Service Bus functions",
            error.Message);
    }

    [Fact]
    public void FunctionJson_ServiceBusTriggers_AreOnSessionQueuesThroughTheIdentityConnection()
    {
        // Sessions keep one chat in order; the host refuses to receive from a session queue without isSessionsEnabled.
        foreach (var function in FunctionCatalog.Load(AppContext.BaseDirectory).Functions)
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, function.Name, "function.json")))!;
            foreach (var binding in json["bindings"]!.AsArray().Where(b => string.Equals((string?)b!["type"], "serviceBusTrigger", StringComparison.OrdinalIgnoreCase)))
            {
                Assert.True(function.ServiceBusTrigger is not null, $"{function.Name}: a serviceBusTrigger must be its only binding");
                Assert.True(binding!["isSessionsEnabled"]?.GetValue<bool>() == true, $"{function.Name}: isSessionsEnabled must be true");
                Assert.Equal("ServiceBusConnection", (string?)binding["connection"]);
                Assert.Contains((string?)binding["queueName"], new[] { Serverless.Webhooks.Messaging.ImQueues.Inbound, Serverless.Webhooks.Messaging.ImQueues.Outbound });
            }
        }
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("\"true\"", true)]
    [InlineData("false", false)]
    [InlineData("null", false)]
    public void Load_ServiceBusTrigger_ReadsQueueConnectionAndSessions(string sessions, bool expected)
    {
        var root = AppRoot.Empty();
        AppRoot.WriteFunction(root, "Process", $$"""
            {"bindings": [{"type": "serviceBusTrigger", "direction": "in", "name": "msg", "queueName": "im-inbound", "connection": "ServiceBusConnection", "isSessionsEnabled": {{sessions}}}]}
            """);

        var function = Assert.Single(FunctionCatalog.Load(root).Functions);

        Assert.Equal(InvocationProtocol.JsonInvocation, function.Protocol);
        var trigger = Assert.IsType<FunctionBinding>(function.ServiceBusTrigger);
        Assert.Equal(("msg", "im-inbound", "ServiceBusConnection", expected), (trigger.Name, trigger.QueueName, trigger.Connection, trigger.IsSessionsEnabled));
    }

    [Fact]
    public void Build_ServiceBusFunctionJsonWithoutEntryPoint_FailsNamingIt()
    {
        var root = AppRoot.Copy();
        AppRoot.WriteFunction(root, "Unhandled", AppRoot.ServiceBusFunctionJson("im-inbound"));

        var error = Assert.Throws<FunctionCatalogException>(() => Build(root));

        Assert.Equal("The app's functions do not match the handler: Unhandled: function.json has no handler entry point", error.Message);
    }

    [Fact]
    public void Build_ServiceBusEntryPointWithoutFunctionJson_FailsNamingIt()
    {
        var error = Assert.Throws<FunctionCatalogException>(() => HandlerApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(Settings(AppContext.BaseDirectory));
            builder.Services.AddSingleton<Serverless.Relay.Functions.IQueueFunction>(new Messaging.RecordingQueueFunction("Unbound"));
        }));

        Assert.Equal("The app's functions do not match the handler: Unbound: handler entry point has no function.json", error.Message);
    }

    [Fact]
    public void Build_QueueNameFromAMissingSetting_FailsNamingIt()
    {
        var root = AppRoot.Copy();
        AppRoot.WriteFunction(root, "Recorded", AppRoot.ServiceBusFunctionJson("%MissingQueueSetting%"));

        var error = Assert.Throws<FunctionCatalogException>(() => Build(root));

        Assert.Equal("the queue setting 'MissingQueueSetting' is not set", error.Message);
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
}
