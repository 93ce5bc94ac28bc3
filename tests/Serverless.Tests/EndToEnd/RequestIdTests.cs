using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Every answer names the relay's request id in <c>x-request-id</c>; Anthropic's SDKs read theirs from
/// <c>request-id</c> (shown in their errors and as <c>_request_id</c>), so an Anthropic client finds it there too.
/// </summary>
[Collection(ScriptedCollection.Name)]
public sealed class RequestIdTests
{
    private static readonly ClientDriver[] Clients = [new OpenAIChatDriver(), new ResponsesDriver(), new AnthropicDriver(), new GeminiDriver()];

    private readonly RelayWithUpstreams _relay;

    public RequestIdTests(RelayWithUpstreams relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    [Theory]
    [InlineData("openai-chat", "anthropic")]
    [InlineData("openai-responses", "openai")]
    [InlineData("anthropic", "openai")]
    [InlineData("anthropic", "anthropic")]
    [InlineData("gemini", "anthropic")]
    public async Task Relay_Answer_RequestIdWhereTheClientsSdkLooks(string client, string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = _relay.Host.CreateClient();
        using var request = Clients.Single(c => c.Name == client).Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), stream: false, _relay.Key);

        using var response = await http.SendAsync(request, ct).WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(ct));
        var id = Assert.Single(response.Headers.GetValues("x-request-id"));
        Assert.False(string.IsNullOrEmpty(id));
        if (client == "anthropic")
        {
            Assert.Equal(id, Assert.Single(response.Headers.GetValues("request-id")));
        }
        else
        {
            Assert.False(response.Headers.Contains("request-id"));
        }
    }
}
