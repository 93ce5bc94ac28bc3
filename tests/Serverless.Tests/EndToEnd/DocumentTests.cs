using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Documents through the whole relay: a PDF sent in one client format reaches an upstream of another format in that
/// upstream's own document shape, and what cannot cross providers is refused in the client's error shape before any
/// upstream is called.
/// </summary>
public sealed class DocumentTests(RelayPathFixture relay) : IClassFixture<RelayPathFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gemini_PdfToAnthropic_UpstreamGetsADocumentBlock()
    {
        const string body = """{"contents":[{"role":"user","parts":[{"text":"Summarize"},{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0xLjQ="}}]}]}""";

        var (status, answer) = await SendAsync("gemini", "m-anthropic", body);

        Assert.True(status == 200, answer);
        Assert.Equal(
            """[{"type":"text","text":"Summarize"},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="}}]""",
            relay.Upstream.LastRequest.Json.GetProperty("messages")[0].GetProperty("content").GetRawText());
    }

    [Fact]
    public async Task ChatCompletions_PdfToGemini_UpstreamGetsInlineData()
    {
        const string body = """{"model":"m-gemini","messages":[{"role":"user","content":[{"type":"text","text":"Summarize"},{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ="}}]}]}""";

        var (status, answer) = await SendAsync("openai-chat", "m-gemini", body);

        Assert.True(status == 200, answer);
        Assert.Equal(
            """[{"text":"Summarize"},{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0xLjQ="}}]""",
            relay.Upstream.LastRequest.Json.GetProperty("contents")[0].GetProperty("parts").GetRawText());
    }

    [Fact]
    public async Task Anthropic_FilesApiDocumentToGemini_Refused400InAnthropicShapeBeforeAnyUpstream()
    {
        const string body = """{"model":"m-gemini","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"Summarize"},{"type":"document","source":{"type":"file","file_id":"file_011CNha8iCJcU1wXNR6q4V8w"}}]}]}""";

        var (status, answer) = await SendAsync("anthropic", "m-gemini", body);

        var error = ClientError.Read("anthropic", status, answer);
        Assert.Equal(new ClientError(400, "invalid_request_error",
            "messages[0].content[1].source.file_id: a file stored with Anthropic can only be read by Anthropic, and this model is served by translating the request for another provider; send the file inline as a base64 source instead"), error);
        Assert.Empty(relay.Upstream.Requests);
    }

    [Fact]
    public async Task Gemini_CachedContentToAnthropic_Refused400InGeminiShapeBeforeAnyUpstream()
    {
        const string body = """{"cachedContent":"cachedContents/abc-123","contents":[{"role":"user","parts":[{"text":"Summarize"}]}]}""";

        var (status, answer) = await SendAsync("gemini", "m-anthropic", body);

        var error = ClientError.Read("gemini", status, answer);
        Assert.Equal(new ClientError(400, "INVALID_ARGUMENT",
            "cachedContent: content cached with Gemini can only be read by Gemini, and this model is served by translating the request for another provider; send the cached systemInstruction, tools and contents in the request instead"), error);
        Assert.Empty(relay.Upstream.Requests);
    }

    [Fact]
    public async Task Gemini_CachedContentToGemini_PassedThroughUnchanged()
    {
        const string body = """{"cachedContent":"cachedContents/abc-123","contents":[{"role":"user","parts":[{"text":"Summarize"}]}]}""";

        var (status, answer) = await SendAsync("gemini", "m-gemini", body);

        Assert.True(status == 200, answer);
        Assert.Equal("cachedContents/abc-123", relay.Upstream.LastRequest.Json.GetProperty("cachedContent").GetString());
    }

    [Fact]
    public async Task Anthropic_DocumentByUrlToChatCompletions_Refused400BeforeAnyUpstream()
    {
        const string body = """{"model":"m-openai","max_tokens":100,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://example.com/spec.pdf"}}]}]}""";

        var (status, answer) = await SendAsync("anthropic", "m-openai", body);

        var error = ClientError.Read("anthropic", status, answer);
        Assert.Equal(new ClientError(400, "invalid_request_error",
            "a document given by URL cannot be sent to the upstream serving this model, which speaks OpenAI Chat Completions and takes files inline only; send the file's data instead"), error);
        Assert.Empty(relay.Upstream.Requests);
    }

    [Fact]
    public async Task Anthropic_DocumentByUrlToGemini_UpstreamGetsFileData()
    {
        const string body = """{"model":"m-gemini","max_tokens":100,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://example.com/spec.pdf"},"title":"spec"}]}]}""";

        var (status, answer) = await SendAsync("anthropic", "m-gemini", body);

        Assert.True(status == 200, answer);
        Assert.Equal(
            """[{"fileData":{"mimeType":"application/pdf","fileUri":"https://example.com/spec.pdf"}}]""",
            relay.Upstream.LastRequest.Json.GetProperty("contents")[0].GetProperty("parts").GetRawText());
    }

    /// <summary>Sends <paramref name="body"/> as <paramref name="client"/> with a new key, to an upstream that has seen nothing yet.</summary>
    private async Task<(int Status, string Body)> SendAsync(string client, string model, string body)
    {
        relay.Upstream.Reset();
        relay.Upstream.Script = new UpstreamScript { ReplyWords = 2 };
        var key = await relay.Host.CreateKeyAsync().WaitAsync(Timeout, Ct);
        using var http = relay.Host.CreateClient();
        using var request = ClientRequest.Post(client, model, key, body);
        using var response = await http.SendAsync(request, Ct).WaitAsync(Timeout, Ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(Ct).WaitAsync(Timeout, Ct));
    }
}
