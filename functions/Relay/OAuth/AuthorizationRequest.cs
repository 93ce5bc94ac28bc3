using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Providers;
using Serverless.Relay.Accounts;

namespace Serverless.Relay.OAuth;

/// <summary>Where a provider's authorization server lives and what it expects, unless the request overrides it.</summary>
internal sealed record OAuthProviderProfile(
    ProviderKind Provider, string AuthorizeUrl, string TokenUrl, IReadOnlyList<string> Scopes, TokenRequestFormat Format,
    IReadOnlyList<KeyValuePair<string, string>> ExtraParameters)
{
    /// <summary>
    /// Claude (claude.ai) accounts: the console shows the user <c>code#state</c> to paste back; the token endpoint takes JSON.
    /// <c>code=true</c> asks claude.ai for that display of the code.
    /// </summary>
    public static readonly OAuthProviderProfile Anthropic = new(
        ProviderKind.Anthropic,
        "https://claude.ai/oauth/authorize",
        "https://console.anthropic.com/v1/oauth/token",
        ["org:create_api_key", "user:profile", "user:inference"],
        TokenRequestFormat.Json,
        [new("code", "true")]);

    /// <summary>
    /// Google accounts: RFC 6749 form bodies. <c>access_type=offline</c> and <c>prompt=consent</c> make Google issue a
    /// refresh token (without them a second consent returns an access token alone).
    /// </summary>
    public static readonly OAuthProviderProfile Gemini = new(
        ProviderKind.Gemini,
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
        ["https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/generative-language.retriever"],
        TokenRequestFormat.Form,
        [new("access_type", "offline"), new("prompt", "consent")]);

    public const string ProviderMessage = "provider must be one of: anthropic, gemini";

    public static OAuthProviderProfile? Of(string? wireName) => wireName switch
    {
        "anthropic" => Anthropic,
        "gemini" => Gemini,
        _ => null,
    };
}

/// <summary>
/// The body of <c>POST /api/admin/oauth/authorize</c>: <c>{provider: "anthropic" | "gemini", clientId, redirectUri,
/// authorizeUrl?, tokenUrl?, scopes?, clientSecret?}</c> plus the fields of the account to create (<c>name</c>,
/// <c>models</c>, <c>priority</c>, <c>modelMap</c>, <c>baseUrl</c>…), checked exactly as <c>POST /api/admin/accounts</c> checks them
/// (the admin API reads and checks it).
/// </summary>
internal sealed record AuthorizationRequest(
    OAuthProviderProfile Profile, string ClientId, string RedirectUri, string AuthorizeUrl, string TokenUrl,
    IReadOnlyList<string> Scopes, string? ClientSecret, JsonObject Account)
{
    public const int MaxFieldLength = 2048;

    /// <summary>The URL to send the user to: the authorization endpoint with every RFC 6749 §4.1.1 and RFC 7636 §4.3 parameter.</summary>
    public string AuthorizationUrl(string state, string challenge)
    {
        var parameters = new List<KeyValuePair<string, string>>(Profile.ExtraParameters.Where(p => p.Key == "code"))
        {
            new("response_type", "code"),
            new("client_id", ClientId),
            new("redirect_uri", RedirectUri),
            new("scope", string.Join(' ', Scopes)),
            new("state", state),
            new("code_challenge", challenge),
            new("code_challenge_method", Pkce.Method),
        };
        parameters.AddRange(Profile.ExtraParameters.Where(p => p.Key != "code"));
        var query = string.Join('&', parameters.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        return AuthorizeUrl + (AuthorizeUrl.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query;
    }
}
