using System.Text.Json.Nodes;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Hosting;

public sealed class HostJsonTests
{
    private static readonly JsonObject HostJson = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "host.json")))!.AsObject();

    [Fact]
    public void CustomHandler_ProxiesHttp_NeverForwardsBuffered()
    {
        var customHandler = HostJson["customHandler"]!.AsObject();

        Assert.True(customHandler["enableProxyingHttpRequest"]!.GetValue<bool>());
        Assert.False(customHandler.ContainsKey("enableForwardingHttpRequest"));
        Assert.Equal("Serverless.Handler", customHandler["description"]!["defaultExecutablePath"]!.GetValue<string>());
    }

    [Fact]
    public void Http_RoutePrefix_IsEmpty()
    {
        Assert.Equal("", HostJson["extensions"]!["http"]!["routePrefix"]!.GetValue<string>());
    }

    [Fact]
    public void ExtensionBundle_IsVersionFourRange()
    {
        Assert.Equal("Microsoft.Azure.Functions.ExtensionBundle", HostJson["extensionBundle"]!["id"]!.GetValue<string>());
        Assert.Equal("[4.*, 5.0.0)", HostJson["extensionBundle"]!["version"]!.GetValue<string>());
    }

    [Fact]
    public void ServiceBus_FailuresAbandon_AndIdleSessionsLetGoSoon()
    {
        // Lock renewal against functionTimeout: Infra/BicepTemplateTests.HostJson_ServiceBusWork_EndsBeforeFunctionTimeout.
        var serviceBus = HostJson["extensions"]!["serviceBus"]!.AsObject();

        // A non-2xx answer must abandon the message (redelivery, then dead-letter), a 2xx complete it.
        Assert.True(serviceBus["autoCompleteMessages"]!.GetValue<bool>());
        // An idle chat holds one of maxConcurrentSessions until sessionIdleTimeout: short, or other chats wait.
        Assert.True(TimeSpan.Parse(serviceBus["sessionIdleTimeout"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) <= TimeSpan.FromSeconds(10));
        // Local mode plays the trigger with the same bound.
        Assert.Equal(new Serverless.Handler.FunctionsHost.LocalQueueOptions().MaxConcurrentSessions, serviceBus["maxConcurrentSessions"]!.GetValue<int>());
    }
}
