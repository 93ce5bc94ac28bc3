using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Chat Completions custom (freeform) tools, GPT-5's, through the whole relay to upstreams of other formats: offered as a
/// function taking one string, called back to the client in Chat's custom tool call shape (openai-python's
/// <c>ChatCompletionMessageCustomToolCall</c>, and its streamed deltas), and the call and its result sent back reach the
/// upstream as that function's call and result. The official .NET SDK has no custom tools in its chat client, so the
/// requests are written by hand.
/// </summary>
public sealed class ChatCustomToolTests(RelayPathFixture relay) : IClassFixture<RelayPathFixture>
{
    private const string Tools = """[{"type":"custom","custom":{"name":"apply_patch","description":"Edit files.","format":{"type":"grammar","grammar":{"syntax":"lark","definition":"start: /.+/"}}}}]""";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("m-anthropic")]
    [InlineData("m-gemini")]
    public async Task CustomTool_CallAnsweredAndResultSentBack_RoundTrips(string model)
    {
        relay.Upstream.Reset();
        var key = await relay.Host.CreateKeyAsync().WaitAsync(Timeout, Ct);

        // :: The model calls the tool: the fake upstream calls the first tool with {"city":"Paris"}, which holds no input string, so those arguments are the input.
        using var answer = await PostAsync(key, $$"""{"model":"{{model}}","messages":[{"role":"user","content":"what is the weather in Paris?"}],"tools":{{Tools}}}""");
        var call = answer.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal("custom", call.GetProperty("type").GetString());
        Assert.Equal("apply_patch", call.GetProperty("custom").GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris"}""", call.GetProperty("custom").GetProperty("input").GetString()!.Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal("tool_calls", answer.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var upstreamTools = relay.Upstream.LastRequest.Json.GetRawText();
        Assert.Contains("The `input` string must follow this lark grammar", upstreamTools, StringComparison.Ordinal);

        // :: The client sends the call and its result back: the upstream gets them as the function's call and result.
        var id = call.GetProperty("id").GetString();
        using var next = await PostAsync(key, $$$"""
            {"model":"{{{model}}}","tools":{{{Tools}}},"messages":[{"role":"user","content":"what is the weather in Paris?"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"{{{id}}}","type":"custom","custom":{"name":"apply_patch","input":"*** Begin Patch"}}]},
             {"role":"tool","tool_call_id":"{{{id}}}","content":"patched"}]}
            """);
        var text = next.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
        Assert.StartsWith("Tool said:", text, StringComparison.Ordinal);
        Assert.Contains("patched", text, StringComparison.Ordinal);
        Assert.Contains("""{"input":"*** Begin Patch"}""", relay.Upstream.LastRequest.Json.GetRawText(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("m-anthropic")]
    [InlineData("m-gemini")]
    public async Task CustomTool_Streamed_CustomDeltasWithTheWholeInput(string model)
    {
        relay.Upstream.Reset();
        var key = await relay.Host.CreateKeyAsync().WaitAsync(Timeout, Ct);

        var sse = await PostRawAsync(key, $$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"what is the weather in Paris?"}],"tools":{{Tools}}}""");

        // What openai-python's stream accumulation sees: the first delta names the call, the later ones carry its input.
        string? type = null, name = null;
        var input = new StringBuilder();
        foreach (var line in sse.Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
            {
                continue;
            }

            using var chunk = JsonDocument.Parse(line["data: ".Length..]);
            if (chunk.RootElement.GetProperty("choices") is not { ValueKind: JsonValueKind.Array } choices || choices.GetArrayLength() == 0
                || !choices[0].GetProperty("delta").TryGetProperty("tool_calls", out var calls))
            {
                continue;
            }

            var delta = calls[0];
            Assert.Equal(0, delta.GetProperty("index").GetInt32());
            Assert.False(delta.TryGetProperty("function", out _));
            if (delta.TryGetProperty("type", out var deltaType))
            {
                Assert.Null(type);
                type = deltaType.GetString();
                name = delta.GetProperty("custom").GetProperty("name").GetString();
            }

            input.Append(delta.GetProperty("custom").GetProperty("input").GetString());
        }

        Assert.Equal(("custom", "apply_patch"), (type, name));
        Assert.Equal("""{"city":"Paris"}""", input.ToString().Replace(" ", "", StringComparison.Ordinal));
        Assert.Contains("\"finish_reason\":\"tool_calls\"", sse, StringComparison.Ordinal);
    }

    private async Task<JsonDocument> PostAsync(string key, string body) => JsonDocument.Parse(await PostRawAsync(key, body));

    private async Task<string> PostRawAsync(string key, string body)
    {
        using var http = relay.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request, Ct).WaitAsync(Timeout, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct).WaitAsync(Timeout, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return text;
    }
}
