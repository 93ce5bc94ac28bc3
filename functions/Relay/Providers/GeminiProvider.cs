using Microsoft.AspNetCore.Http;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Gemini;

namespace Serverless.Relay.Providers;

/// <summary>Gemini API (Google AI): the model is part of the URL; streams are requested as SSE.</summary>
internal sealed class GeminiProvider : IProvider
{
    public static readonly GeminiProvider Instance = new();

    private const string DefaultBaseUrl = "https://generativelanguage.googleapis.com";

    public ProviderKind Kind => ProviderKind.Gemini;

    public IChatFormat UpstreamFormat(WireFormat clientFormat) => GeminiFormat.Instance;

    public Uri ChatEndpoint(UpstreamAccount account, IChatFormat format, string upstreamModel, bool stream) =>
        ProviderUrls.Join(
            account,
            DefaultBaseUrl,
            stream
                ? $"v1beta/models/{Uri.EscapeDataString(upstreamModel)}:streamGenerateContent?alt=sse"
                : $"v1beta/models/{Uri.EscapeDataString(upstreamModel)}:generateContent");

    public Uri? CountTokensEndpoint(UpstreamAccount account, string upstreamModel) =>
        ProviderUrls.Join(account, DefaultBaseUrl, $"v1beta/models/{Uri.EscapeDataString(upstreamModel)}:countTokens");

    public void ForwardClientHeaders(HttpRequestMessage request, IHeaderDictionary? clientHeaders)
    {
        // No client header changes what this vendor accepts.
    }

    public void Authorize(HttpRequestMessage request, UpstreamAccount account)
    {
        if (account.AccessToken is { } token)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }
        else if (!string.IsNullOrEmpty(account.ApiKey))
        {
            request.Headers.TryAddWithoutValidation("x-goog-api-key", account.ApiKey);
        }
    }
}
