using Microsoft.AspNetCore.Http;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;

namespace Serverless.Relay.Providers;

/// <summary>
/// Every vendor that copies OpenAI's wire format: OpenAI itself, OpenRouter, Ollama and any compatible server.
/// They differ only in the default base URL, the max-tokens field name and whether they serve the Responses API.
/// </summary>
internal sealed class OpenAICompatibleProvider(ProviderKind kind, string defaultBaseUrl, OpenAIChatFormat chatFormat, bool servesResponses) : IProvider
{
    public static readonly OpenAICompatibleProvider OpenAI = new(ProviderKind.OpenAI, "https://api.openai.com/v1", OpenAIChatFormat.Default, servesResponses: true);
    public static readonly OpenAICompatibleProvider OpenRouter = new(ProviderKind.OpenRouter, "https://openrouter.ai/api/v1", OpenAIChatFormat.Compatible, servesResponses: false);
    public static readonly OpenAICompatibleProvider Ollama = new(ProviderKind.Ollama, "http://localhost:11434/v1", OpenAIChatFormat.Compatible, servesResponses: false);
    public static readonly OpenAICompatibleProvider Compatible = new(ProviderKind.OpenAICompatible, "http://localhost/v1", OpenAIChatFormat.Compatible, servesResponses: false);

    public ProviderKind Kind => kind;

    public IChatFormat UpstreamFormat(WireFormat clientFormat) =>
        servesResponses && clientFormat == WireFormat.OpenAIResponses ? OpenAIResponsesFormat.Instance : chatFormat;

    public Uri ChatEndpoint(UpstreamAccount account, IChatFormat format, string upstreamModel, bool stream) =>
        ProviderUrls.Join(account, defaultBaseUrl, format.Format == WireFormat.OpenAIResponses ? "responses" : "chat/completions");

    public Uri? CountTokensEndpoint(UpstreamAccount account, string upstreamModel) => null;

    public Uri? CompactEndpoint(UpstreamAccount account) => servesResponses ? ProviderUrls.Join(account, defaultBaseUrl, "responses/compact") : null;

    public void ForwardClientHeaders(HttpRequestMessage request, IHeaderDictionary? clientHeaders)
    {
        // No client header changes what this vendor accepts.
    }

    public void Authorize(HttpRequestMessage request, UpstreamAccount account)
    {
        if ((account.AccessToken ?? account.ApiKey) is { Length: > 0 } credential)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + credential);
        }
    }
}
