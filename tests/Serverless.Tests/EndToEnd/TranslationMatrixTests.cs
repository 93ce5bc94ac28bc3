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
    public static TheoryData<string, string, Scenario, bool> Matrix()
    {
        var data = new TheoryData<string, string, Scenario, bool>();
        foreach (var client in MatrixCase.Clients)
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
        using var http = relay.Host.CreateClient();
        await MatrixCase.RunAsync(http, relay.Key, relay.Upstream, clientName, provider, scenario, stream, TestContext.Current.CancellationToken);
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
