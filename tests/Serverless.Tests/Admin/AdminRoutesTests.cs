using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Admin;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Admin;

/// <summary>The admin route table: every group's endpoints, literal segments before parameters, 405 with the allowed methods.</summary>
public sealed class AdminRoutesTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Routes_EveryGroup_MapsTheDocumentedEndpoints()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await RelayHost.StartAsync(azurite, StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("routes")), new ManualTimeProvider()).WaitAsync(StorageTestKit.Timeout, ct);

        var routes = host.Services.GetRequiredService<AdminRoutes>().Describe().Order(StringComparer.Ordinal);

        Assert.Equal(
            [
                "DELETE accounts/{id}", "DELETE channels/{id}", "DELETE keys/{id}", "DELETE models/{name}", "DELETE notifications/{id}", "DELETE pricing",
                "GET accounts", "GET accounts/events", "GET accounts/{id}", "GET audit", "GET audit/{keyId}/{requestId}", "GET channels", "GET channels/{id}", "GET channels/{id}/pending",
                "GET keys", "GET keys/{id}", "GET keys/{id}/quota",
                "GET models", "GET models/{name}", "GET notifications", "GET notifications/{id}", "GET openapi.json", "GET pricing", "GET usage",
                "PATCH accounts/{id}", "PATCH channels/{id}", "PATCH keys/{id}", "PATCH notifications/{id}",
                "POST accounts", "POST channels", "POST keys", "POST models", "POST notifications", "POST notifications/{id}/test",
                "POST oauth/authorize", "POST oauth/complete",
                "PUT pricing",
            ],
            routes);
    }

    [Fact]
    public void Find_LiteralAndParameterBothMatch_LiteralWins()
    {
        var routes = new AdminRoutes([new Probe()]);

        var events = routes.Find("GET", "things/events");
        var one = routes.Find("GET", "things/t1");

        Assert.Equal("events", Invoke(events));
        Assert.Equal("one t1", Invoke(one));
    }

    [Theory]
    [InlineData("PUT", "things", "GET, POST")]
    [InlineData("POST", "things/t1", "GET, DELETE")]
    [InlineData("GET", "nothing", null)]
    [InlineData("GET", "things/t1/deeper", null)]
    public void Find_NoEndpointForTheMethod_AllowedMethodsOrNone(string method, string path, string? allow)
    {
        var match = new AdminRoutes([new Probe()]).Find(method, path);

        Assert.Null(match.Endpoint);
        Assert.Equal(allow, match.Allow);
    }

    [Fact]
    public void Constructor_SameRouteTwice_Throws()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new AdminRoutes([new Probe(), new Probe()]));

        Assert.Equal("the admin route GET things is mapped twice", error.Message);
    }

    private static string Invoke(AdminRoutes.Match match)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        var result = match.Endpoint!(new AdminCall(context, match.Values!, default)).GetAwaiter().GetResult();
        return result.Error!.Message;
    }

    /// <summary>Answers with an error naming the endpoint, so the test sees which one ran.</summary>
    private sealed class Probe : IAdminEndpointGroup
    {
        public void Map(AdminRouteGroup group) => group.MapGroup("things")
            .MapGet("", _ => Answer("list"))
            .MapPost("", _ => Answer("create"))
            .MapGet("{id}", call => Answer("one " + call["id"]))
            .MapGet("events", _ => Answer("events"))
            .MapDelete("{id}", _ => Answer("delete"));

        private static Task<AdminResult> Answer(string name) => Task.FromResult<AdminResult>(Serverless.Relay.Errors.RelayError.Invalid(name));
    }
}
