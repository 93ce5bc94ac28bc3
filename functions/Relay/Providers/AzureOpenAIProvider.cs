using Microsoft.AspNetCore.Http;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.OpenAIChat;

namespace Serverless.Relay.Providers;

/// <summary>Azure OpenAI: the upstream model names a deployment, the API version is a query parameter, the key an <c>api-key</c> header.</summary>
internal sealed class AzureOpenAIProvider : IProvider
{
    public static readonly AzureOpenAIProvider Instance = new();

    /// <summary>The GA data-plane version used when the account names none.</summary>
    public const string DefaultApiVersion = "2024-10-21";

    public ProviderKind Kind => ProviderKind.AzureOpenAI;

    public IChatFormat UpstreamFormat(WireFormat clientFormat) => OpenAIChatFormat.Default;

    public Uri ChatEndpoint(UpstreamAccount account, IChatFormat format, string upstreamModel, bool stream) =>
        ProviderUrls.Join(
            account,
            "https://invalid.openai.azure.com",
            $"openai/deployments/{Uri.EscapeDataString(upstreamModel)}/chat/completions?api-version={Uri.EscapeDataString(account.ApiVersion ?? DefaultApiVersion)}");

    public Uri? CountTokensEndpoint(UpstreamAccount account, string upstreamModel) => null;

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
            request.Headers.TryAddWithoutValidation("api-key", account.ApiKey);
        }
    }
}
