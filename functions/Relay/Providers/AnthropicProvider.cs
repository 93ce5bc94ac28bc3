using Microsoft.AspNetCore.Http;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;

namespace Serverless.Relay.Providers;

internal sealed class AnthropicProvider : IProvider
{
    public static readonly AnthropicProvider Instance = new();

    private const string DefaultBaseUrl = "https://api.anthropic.com";
    private const string DefaultVersion = "2023-06-01";
    private const string OAuthBeta = "oauth-2025-04-20";

    public ProviderKind Kind => ProviderKind.Anthropic;

    public IChatFormat UpstreamFormat(WireFormat clientFormat) => AnthropicFormat.Instance;

    public Uri ChatEndpoint(UpstreamAccount account, IChatFormat format, string upstreamModel, bool stream) =>
        ProviderUrls.Join(account, DefaultBaseUrl, "v1/messages");

    public Uri? CountTokensEndpoint(UpstreamAccount account, string upstreamModel) =>
        ProviderUrls.Join(account, DefaultBaseUrl, "v1/messages/count_tokens");

    public void ForwardClientHeaders(HttpRequestMessage request, IHeaderDictionary? clientHeaders)
    {
        if (clientHeaders is null)
        {
            return;
        }

        // An Anthropic client's version and beta flags (prompt caching, tools, ...) change what the upstream accepts: keep them.
        var version = clientHeaders["anthropic-version"].ToString();
        if (version.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("anthropic-version", version);
        }

        var beta = clientHeaders["anthropic-beta"].ToString();
        if (beta.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("anthropic-beta", beta);
        }
    }

    public void Authorize(HttpRequestMessage request, UpstreamAccount account)
    {
        if (account.AccessToken is { } token)
        {
            // Claude OAuth tokens go as a bearer token, and the API only accepts them with the OAuth beta flag.
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            request.Headers.TryAddWithoutValidation("anthropic-beta", OAuthBeta);
        }
        else if (!string.IsNullOrEmpty(account.ApiKey))
        {
            request.Headers.TryAddWithoutValidation("x-api-key", account.ApiKey);
        }

        if (!request.Headers.Contains("anthropic-version"))
        {
            request.Headers.TryAddWithoutValidation("anthropic-version", DefaultVersion);
        }
    }
}
