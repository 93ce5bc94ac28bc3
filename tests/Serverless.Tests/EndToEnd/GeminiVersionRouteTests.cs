using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Gemini under <c>/v1/</c> and <c>/v1alpha/</c> as well as <c>/v1beta/</c> (issue 8: <c>@google/genai</c> calls
/// <c>/v1/</c> by default), without taking <c>GET /v1/models</c> from the OpenAI SDKs.
/// </summary>
[Collection(MatrixCollection.Name)]
public sealed class GeminiVersionRouteTests(RelayWithUpstreams relay)
{
    private const string Body = """{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}""";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpRequestMessage request)
    {
        using var http = relay.Host.CreateClient();
        using var response = await http.SendAsync(request, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct));
    }

    private HttpRequestMessage Post(string path) => new(HttpMethod.Post, path)
    {
        Content = new StringContent(Body, Encoding.UTF8, "application/json"),
        Headers = { { "x-goog-api-key", relay.Key }, { "x-goog-api-client", "google-genai-sdk/1.30.0 gl-node/v22.0.0" } },
    };

    [Theory]
    [InlineData("v1")]
    [InlineData("v1alpha")]
    [InlineData("v1beta")]
    public async Task GenerateContent_EachApiVersion_AnswersGeminiShape(string version)
    {
        relay.StartClean();

        var (status, body) = await SendAsync(Post($"{version}/models/{RelayWithUpstreams.ModelFor("gemini")}:generateContent"));

        Assert.Equal(HttpStatusCode.OK, status);
        var candidate = JsonDocument.Parse(body).RootElement.GetProperty("candidates")[0];
        Assert.Equal("model", candidate.GetProperty("content").GetProperty("role").GetString());
        Assert.StartsWith("/v1beta/models/gemini-test:generateContent", relay.Upstream.LastRequest.PathAndQuery, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v1")]
    [InlineData("v1alpha")]
    public async Task StreamGenerateContent_AltSse_StreamsSseEvents(string version)
    {
        relay.StartClean();

        var (status, body) = await SendAsync(Post($"{version}/models/{RelayWithUpstreams.ModelFor("gemini")}:streamGenerateContent?alt=sse"));

        Assert.Equal(HttpStatusCode.OK, status);
        var events = body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l[6..]).RootElement).ToArray();
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.True(e.TryGetProperty("candidates", out _) || e.TryGetProperty("usageMetadata", out _)));
    }

    [Fact]
    public async Task CountTokens_V1_AnswersTotalTokens()
    {
        relay.StartClean();

        var (status, body) = await SendAsync(Post($"v1/models/{RelayWithUpstreams.ModelFor("gemini")}:countTokens"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("totalTokens").GetInt32() > 0);
    }

    [Theory]
    [InlineData("x-goog-api-key")]
    [InlineData("query")]
    [InlineData("x-goog-api-client")]
    public async Task ModelList_V1WithGeminiCaller_AnswersGeminiShape(string marker)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, marker == "query" ? "v1/models?key=" + relay.Key : "v1/models");
        switch (marker)
        {
            case "x-goog-api-key": request.Headers.Add("x-goog-api-key", relay.Key); break;
            case "x-goog-api-client":
                request.Headers.Authorization = new("Bearer", relay.Key);
                request.Headers.Add("x-goog-api-client", "google-genai-sdk/1.30.0 gl-node/v22.0.0");
                break;
        }

        var (status, body) = await SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, status);
        var models = JsonDocument.Parse(body).RootElement.GetProperty("models");
        Assert.Contains("models/" + RelayWithUpstreams.ModelFor("gemini"), models.EnumerateArray().Select(m => m.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task ModelList_V1WithBearer_AnswersOpenAIShape()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { Authorization = new("Bearer", relay.Key) } };

        var (status, body) = await SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, status);
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("list", root.GetProperty("object").GetString());
        Assert.Contains(RelayWithUpstreams.ModelFor("gemini"), root.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Theory]
    [InlineData("v1/models/m-gemini", "x-goog-api-key")]
    [InlineData("v1alpha/models/m-gemini", "x-goog-api-key")]
    [InlineData("v1/models/m-gemini", "Authorization")]
    public async Task ModelLookup_V1AndV1Alpha_ShapeFollowsTheCaller(string path, string placement)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (placement == "Authorization")
        {
            request.Headers.Authorization = new("Bearer", relay.Key);
        }
        else
        {
            request.Headers.Add(placement, relay.Key);
        }

        var (status, body) = await SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, status);
        var root = JsonDocument.Parse(body).RootElement;
        if (placement == "Authorization")
        {
            Assert.Equal("m-gemini", root.GetProperty("id").GetString());
        }
        else
        {
            Assert.Equal("models/m-gemini", root.GetProperty("name").GetString());
        }
    }
}
