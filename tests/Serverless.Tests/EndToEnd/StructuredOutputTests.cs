using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Structured output through the whole relay: what the OpenAI SDK's <c>parse()</c> sends must reach an upstream of
/// another format in that upstream's own field, not be dropped on the way.
/// </summary>
public sealed class StructuredOutputTests(RelayPathFixture relay) : IClassFixture<RelayPathFixture>
{
    private const string Schema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}""";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("m-gemini", "generationConfig", """{"responseMimeType":"application/json","responseJsonSchema":""" + Schema + "}")]
    [InlineData("m-anthropic", "output_config", """{"format":{"type":"json_schema","schema":""" + Schema + "}}")]
    public async Task ChatCompletions_JsonSchemaToOtherUpstream_UpstreamReceivesTheSchema(string model, string field, string expected)
    {
        relay.Upstream.Reset();
        relay.Upstream.Script = new UpstreamScript { ReplyWords = 2 };
        var key = await relay.Host.CreateKeyAsync().WaitAsync(Timeout, Ct);
        var body = """{"model":"MODEL","messages":[{"role":"user","content":"Where?"}],"response_format":{"type":"json_schema","json_schema":{"name":"place","strict":true,"schema":""".Replace("MODEL", model, StringComparison.Ordinal)
            + Schema + "}}}";

        using var http = relay.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request, Ct).WaitAsync(Timeout, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, relay.Upstream.LastRequest.Json.GetProperty(field).GetRawText());
    }
}
