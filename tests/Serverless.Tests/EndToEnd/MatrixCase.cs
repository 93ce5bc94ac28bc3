using System.Text.Json;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// One case of the translation matrix against any running relay with <see cref="RelayWithUpstreams.Accounts"/>: the
/// client's request, what the client made of the answer, and what the upstream received.
/// </summary>
internal static class MatrixCase
{
    public static readonly ClientDriver[] Clients = [new OpenAIChatDriver(), new ResponsesDriver(), new AnthropicDriver(), new GeminiDriver()];

    public static async Task RunAsync(
        HttpClient http, string key, LoopbackUpstream upstream, string clientName, string provider, Scenario scenario, bool stream, CancellationToken ct)
    {
        var client = Clients.Single(c => c.Name == clientName);
        using var request = client.Build(scenario, RelayWithUpstreams.ModelFor(provider), stream, key);

        using var response = await http.SendAsync(request, ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
        var body = await response.Content.ReadAsStringAsync(ct);

        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        Assert.Equal(stream ? "text/event-stream" : "application/json", response.Content.Headers.ContentType?.MediaType);
        var result = client.Read(body, stream);

        switch (scenario)
        {
            case Scenario.Text:
                Assert.Equal("[sys:Be brief] You said: hello there", result.Text);
                Assert.Equal("end", result.Stop);
                break;
            case Scenario.Images:
                Assert.StartsWith("[sys:Be brief] You said: what is this [images: 2;", result.Text, StringComparison.Ordinal);
                Assert.Contains("base64 image/png 8", result.Text, StringComparison.Ordinal);
                Assert.Contains("url " + ClientDriver.ImageUrl, result.Text, StringComparison.Ordinal);
                break;
            case Scenario.ToolCall:
                var (name, arguments) = Assert.Single(result.ToolCalls);
                Assert.Equal("get_weather", name);
                Assert.Equal("Paris", JsonDocument.Parse(arguments).RootElement.GetProperty("city").GetString());
                Assert.Equal("tool", result.Stop);
                break;
            case Scenario.ToolResult:
                Assert.Contains("Tool said:", result.Text, StringComparison.Ordinal);
                Assert.Contains(ClientDriver.ToolResultText, result.Text, StringComparison.Ordinal);
                Assert.Equal("end", result.Stop);
                break;
        }

        // Usage reaches the client in its own convention: all input (cache writes only Anthropic reports), cache reads, output.
        Assert.Equal(provider == "anthropic" ? 29 : 26, result.TotalInput);
        Assert.Equal(5, result.CacheRead);
        Assert.Equal(7, result.Output);
        if (stream)
        {
            Assert.True(result.EndedCleanly, "the stream ended without its end marker");
        }

        AssertUpstreamSaw(upstream.LastRequest, provider, clientName, stream);
    }

    private static void AssertUpstreamSaw(RecordedRequest seen, string provider, string clientName, bool stream)
    {
        var upstreamModel = RelayWithUpstreams.UpstreamModels[provider];
        var expected = provider switch
        {
            "anthropic" => UpstreamDialect.Anthropic,
            "gemini" => UpstreamDialect.Gemini,
            "azure-openai" => UpstreamDialect.AzureOpenAIChat,
            "openai" when clientName == "openai-responses" => UpstreamDialect.OpenAIResponses,
            _ => UpstreamDialect.OpenAIChat,
        };
        Assert.Equal(expected, seen.Dialect);
        switch (expected)
        {
            case UpstreamDialect.Gemini:
                Assert.StartsWith($"/v1beta/models/{upstreamModel}:{(stream ? "streamGenerateContent?alt=sse" : "generateContent")}", seen.PathAndQuery, StringComparison.Ordinal);
                break;
            case UpstreamDialect.AzureOpenAIChat:
                Assert.Equal($"/openai/deployments/{upstreamModel}/chat/completions?api-version=2024-10-21", seen.PathAndQuery);
                break;
            default:
                Assert.Equal(upstreamModel, seen.Json.GetProperty("model").GetString());
                break;
        }
    }
}
