using System.Diagnostics;
using Serverless.Handler.Telemetry;
using Xunit;

namespace Serverless.Tests.Telemetry;

public sealed class UrlQueryRedactionTests
{
    [Fact]
    public void OnEnd_QueryInTheTags_DropsItAndCutsItFromTheFullUrl()
    {
        using var activity = new Activity("POST")
            .SetTag("url.query", "key=sk-relay-secret")
            .SetTag("url.full", "https://upstream.example/v1beta/models/m:generateContent?key=upstream-secret")
            .SetTag("url.path", "/v1beta/models/m:generateContent");

        new UrlQueryRedaction().OnEnd(activity);

        Assert.Null(activity.GetTagItem("url.query"));
        Assert.Equal("https://upstream.example/v1beta/models/m:generateContent", activity.GetTagItem("url.full"));
        Assert.Equal("/v1beta/models/m:generateContent", activity.GetTagItem("url.path"));
        Assert.DoesNotContain(activity.TagObjects, tag => tag.Value is string text && text.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public void OnEnd_NoQuery_LeavesTheUrlAlone()
    {
        using var activity = new Activity("POST").SetTag("url.full", "https://upstream.example/v1/chat/completions");

        new UrlQueryRedaction().OnEnd(activity);

        Assert.Equal("https://upstream.example/v1/chat/completions", activity.GetTagItem("url.full"));
    }
}
