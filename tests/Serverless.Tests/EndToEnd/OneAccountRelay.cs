using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// A relay for one test class (its tests run one after another) started with <paramref name="settings"/>: one OpenAI
/// loopback account serving <c>m</c>, one key, and chat requests to it in the OpenAI, Anthropic and Gemini shapes.
/// </summary>
public abstract class OneAccountRelay(AzuriteFixture azurite, Dictionary<string, string?> settings) : IAsyncLifetime
{
    internal RelayHost Host { get; private set; } = null!;

    internal LoopbackUpstream Upstream { get; private set; } = null!;

    internal string Key { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Host = await RelayHost.StartAsync(azurite, settings);
        Upstream = await LoopbackUpstream.StartAsync(CancellationToken.None);
        await Host.CreateLoopbackAccountAsync(Upstream, "openai", ["m"]);
        Key = await Host.CreateKeyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>A chat body for model <c>m</c> in the client's own shape, whose user message is <paramref name="text"/>.</summary>
    internal static byte[] ChatBody(string client, string text, bool stream = false)
    {
        var json = client switch
        {
            "anthropic" => $$"""{"model":"m","max_tokens":16,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{text}}"}]}""",
            "gemini" => $$"""{"contents":[{"role":"user","parts":[{"text":"{{text}}"}]}]}""",
            _ => $$"""{"model":"m","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{text}}"}]}""",
        };
        return Encoding.UTF8.GetBytes(json);
    }

    /// <summary>A chat request of the client API (<c>openai-chat</c>, <c>anthropic</c>, <c>gemini</c>) with the class's key or <paramref name="key"/>.</summary>
    internal HttpRequestMessage ChatRequest(string client, HttpContent content, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, client switch
        {
            "anthropic" => "v1/messages",
            "gemini" => "v1beta/models/m:generateContent",
            _ => "v1/chat/completions",
        })
        { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key ?? Key);
        content.Headers.ContentType ??= new MediaTypeHeaderValue("application/json");
        return request;
    }

    /// <summary>Sends a chat request and reads its answer: status and body.</summary>
    internal async Task<(HttpStatusCode Status, string Body)> PostChatAsync(string client, HttpContent content, CancellationToken ct, string? key = null)
    {
        using var http = Host.CreateClient();
        using var response = await http.SendAsync(ChatRequest(client, content, key), ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct).WaitAsync(TimeSpan.FromSeconds(20), ct));
    }

    /// <summary>Sends a chat request that should be refused: the error as the client API's SDK reads it, and the response.</summary>
    internal async Task<(ClientError Error, HttpResponseMessage Response)> SendRefusedChatAsync(string client, HttpContent content)
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = Host.CreateClient();
        var response = await http.SendAsync(ChatRequest(client, content), ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
        var body = await response.Content.ReadAsStringAsync(ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
        return (ClientError.Read(client, (int)response.StatusCode, body), response);
    }
}
