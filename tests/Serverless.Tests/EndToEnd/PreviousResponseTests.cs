using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// A Responses request that continues a stored response (<c>previous_response_id</c>) or a stored conversation
/// (<c>conversation</c>), or fills in a stored prompt template (<c>prompt</c>), can only be served by an upstream that
/// stores them itself: the relay keeps none, so a translated call would lose the conversation or the prompt.
/// </summary>
[Collection(ScriptedCollection.Name)]
public sealed class PreviousResponseTests
{
    private readonly RelayWithUpstreams _relay;

    public PreviousResponseTests(RelayWithUpstreams relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    /// <summary>A follow-up that answers a tool call made in the stored response: without that response it is an orphan.</summary>
    internal static string FollowUp(string model) =>
        $$"""{"model":"{{model}}","previous_response_id":"resp_prev","input":[{"type":"function_call_output","call_id":"call_1","output":"sunny"}]}""";

    private async Task<(int Status, string Body)> PostAsync(string body)
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = _relay.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _relay.Key);
        using var response = await http.SendAsync(request, ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct).WaitAsync(TimeSpan.FromSeconds(20), ct));
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    [InlineData("openai-compatible")]
    [InlineData("azure-openai")]
    public async Task Relay_PreviousResponseIdOnlyTranslatingAccounts_Refused400BeforeAnyUpstream(string provider)
    {
        var model = RelayWithUpstreams.ExactModelFor(provider);

        var (status, body) = await PostAsync(FollowUp(model));

        Assert.Equal(400, status);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("previous_response_id", error.GetProperty("param").GetString());
        Assert.Equal(
            $"previous_response_id: the model '{model}' is served by an upstream that keeps no responses; send the whole conversation as input instead.",
            error.GetProperty("message").GetString());
        Assert.Empty(_relay.Upstream.Requests);
    }

    [Fact]
    public async Task Relay_PreviousResponseIdToOpenAI_ForwardedAsSent()
    {
        var body = FollowUp(RelayWithUpstreams.ExactModelFor("openai"));

        var (status, answer) = await PostAsync(body);

        Assert.True(status == 200, answer);
        var forwarded = Assert.Single(_relay.Upstream.Requests);
        Assert.Equal("/v1/responses", forwarded.PathAndQuery);
        Assert.Equal(body, Encoding.UTF8.GetString(forwarded.Body));
    }

    /// <summary>What the model reads is in OpenAI's store, so input is optional: each such field, mostly without input.</summary>
    public static TheoryData<string> StoredStateRequests() => new()
    {
        """{"model":"MODEL","previous_response_id":"resp_prev"}""",
        """{"model":"MODEL","conversation":"conv_1"}""",
        """{"model":"MODEL","conversation":{"id":"conv_1"},"input":"and now?"}""",
        """{"model":"MODEL","prompt":{"id":"pmpt_1","version":"2","variables":{"city":"Paris"}}}""",
    };

    /// <summary>What each field's refusal says is kept upstream, and what to send instead.</summary>
    private static readonly Dictionary<string, string> KeptUpstream = new()
    {
        ["previous_response_id"] = "responses; send the whole conversation as input instead.",
        ["conversation"] = "conversations; send the whole conversation as input instead.",
        ["prompt"] = "prompt templates; send the prompt's text as instructions and input instead.",
    };

    [Theory]
    [MemberData(nameof(StoredStateRequests))]
    public async Task Relay_StoredStateToOpenAI_ForwardedAsSent(string template)
    {
        var body = template.Replace("MODEL", RelayWithUpstreams.ExactModelFor("openai"), StringComparison.Ordinal);

        var (status, answer) = await PostAsync(body);

        Assert.True(status == 200, answer);
        var forwarded = Assert.Single(_relay.Upstream.Requests);
        Assert.Equal("/v1/responses", forwarded.PathAndQuery);
        Assert.Equal(body, Encoding.UTF8.GetString(forwarded.Body));
    }

    [Theory]
    [MemberData(nameof(StoredStateRequests))]
    public async Task Relay_StoredStateOnlyTranslatingAccounts_Refused400NamingTheField(string template)
    {
        var model = RelayWithUpstreams.ExactModelFor("anthropic");
        var field = KeptUpstream.Keys.Single(name => JsonDocument.Parse(template).RootElement.TryGetProperty(name, out _));

        var (status, body) = await PostAsync(template.Replace("MODEL", model, StringComparison.Ordinal));

        Assert.Equal(400, status);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.Equal($"{field}: the model '{model}' is served by an upstream that keeps no {KeptUpstream[field]}", error.GetProperty("message").GetString());
        Assert.Empty(_relay.Upstream.Requests);
    }

    [Fact]
    public async Task Relay_PreviousResponseIdNotAString_Refused400()
    {
        var (status, body) = await PostAsync("""{"model":"exact-openai","previous_response_id":7,"input":"hi"}""");

        Assert.Equal(400, status);
        Assert.Equal("previous_response_id: must be a string", ClientError.Read("openai-responses", status, body).Message);
        Assert.Empty(_relay.Upstream.Requests);
    }
}
