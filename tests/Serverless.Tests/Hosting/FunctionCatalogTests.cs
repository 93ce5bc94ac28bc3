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
        File.Copy(Path.Combine(root, "Models", "function.json"), Path.Combine(root, "Orphan", "function.json"));

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
