using System.Text.Json;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Each client API against each upstream wire format: text with a system prompt, images (base64 and URL), a tool
/// call and a tool result, streamed and not. The upstream validates what it receives in its own format and answers
/// by a fixed rule, so the client-side result proves both directions of the translation.
/// </summary>
[Collection(MatrixCollection.Name)]
public sealed class TranslationMatrixTests(RelayWithUpstreams relay)
{
    private static readonly ClientDriver[] Clients = [new OpenAIChatDriver(), new ResponsesDriver(), new AnthropicDriver(), new GeminiDriver()];

    public static TheoryData<string, string, Scenario, bool> Matrix()
    {
        var data = new TheoryData<string, string, Scenario, bool>();
        foreach (var client in Clients)
        {
            foreach (var provider in new[] { "openai", "azure-openai", "anthropic", "gemini" })
            {
                foreach (var scenario in Enum.GetValues<Scenario>())
                {
                    data.Add(client.Name, provider, scenario, false);
                    data.Add(client.Name, provider, scenario, true);
                }
            }

            foreach (var provider in new[] { "openrouter", "ollama", "openai-compatible" })
            {
                data.Add(client.Name, provider, Scenario.Text, false);
                data.Add(client.Name, provider, Scenario.ToolCall, true);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Relay_ClientApiToUpstream_TranslatesBothWays(string clientName, string provider, Scenario scenario, bool stream)
    {
        var ct = TestContext.Current.CancellationToken;
        var client = Clients.Single(c => c.Name == clientName);
        using var http = relay.Host.CreateClient();
        using var request = client.Build(scenario, RelayWithUpstreams.ModelFor(provider), stream, relay.Key);

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

        AssertUpstreamSaw(provider, clientName, stream);
    }

    private void AssertUpstreamSaw(string provider, string clientName, bool stream)
    {
        var seen = relay.Upstream.LastRequest;
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

[CollectionDefinition(Name)]
public sealed class MatrixCollection : ICollectionFixture<RelayWithUpstreams>
{
    public const string Name = "relay with upstreams";
}

/// <summary>Tests that change the upstream's script get a relay and upstream of their own, and run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class ScriptedCollection : ICollectionFixture<RelayWithUpstreams>
{
    public const string Name = "relay with scripted upstreams";
}
