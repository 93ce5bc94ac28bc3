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
}
