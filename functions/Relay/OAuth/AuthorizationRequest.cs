using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Admin;
using Serverless.Relay.Providers;

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
/// <c>models</c>, <c>priority</c>, <c>modelMap</c>, <c>baseUrl</c>…), checked exactly as <c>POST /api/admin/accounts</c> checks them.
/// </summary>
internal sealed record AuthorizationRequest(
    OAuthProviderProfile Profile, string ClientId, string RedirectUri, string AuthorizeUrl, string TokenUrl,
    IReadOnlyList<string> Scopes, string? ClientSecret, JsonObject Account)
{
    public const int MaxFieldLength = 2048;

    /// <summary>Fields of this request that are not account fields, and account fields an authorization may not set.</summary>
    private static readonly HashSet<string> NotAccountFields =
        new(StringComparer.Ordinal) { "provider", "clientId", "redirectUri", "authorizeUrl", "tokenUrl", "scopes", "clientSecret", "apiKey", "oauth" };

    /// <summary>Reads and checks every field; null after adding one error per bad field.</summary>
    public static AuthorizationRequest? Parse(JsonElement body, FieldErrors errors)
    {
        OAuthProviderProfile? profile = null;
        if (!body.TryGetProperty("provider", out var provider))
        {
            errors.Add("provider", "provider is required");
        }
        else if ((profile = OAuthProviderProfile.Of(provider.ValueKind == JsonValueKind.String ? provider.GetString() : null)) is null)
        {
            errors.Add("provider", OAuthProviderProfile.ProviderMessage);
        }

        // The account's own fields, validated by the account parser; the provider stands in when it is wrong (already reported).
        var account = new JsonObject();
        foreach (var property in body.EnumerateObject())
        {
            if (!NotAccountFields.Contains(property.Name))
            {
                account[property.Name] = JsonNode.Parse(property.Value.GetRawText());
            }
        }

        account["provider"] = (profile ?? OAuthProviderProfile.Anthropic).Provider.WireName();
        using (var accountBody = JsonDocument.Parse(account.ToJsonString()))
        {
            _ = AccountRequest.Parse(accountBody.RootElement, errors, creating: true);
        }

        var clientId = Text(body, "clientId", errors, "clientId must be a non-empty string", required: true);
        var redirectUri = Url(body, "redirectUri", errors, required: true, httpOnly: false);
        var authorizeUrl = Url(body, "authorizeUrl", errors, required: false, httpOnly: true);
        var tokenUrl = Url(body, "tokenUrl", errors, required: false, httpOnly: true);
        var scopes = ParseScopes(body, errors);
        var clientSecret = Text(body, "clientSecret", errors, "clientSecret must be a non-empty string", required: false);
        if (errors.Any || profile is null)
        {
            return null;
        }

        return new AuthorizationRequest(
            profile, clientId!, redirectUri!, authorizeUrl ?? profile.AuthorizeUrl, tokenUrl ?? profile.TokenUrl,
            scopes ?? profile.Scopes, clientSecret, account);
    }

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

    private static string? Text(JsonElement body, string field, FieldErrors errors, string message, bool required)
    {
        if (!body.TryGetProperty(field, out var value))
        {
            if (required)
            {
                errors.Add(field, field + " is required");
            }

            return null;
        }

        if (value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 and <= MaxFieldLength } text && !string.IsNullOrWhiteSpace(text))
        {
            return text.Trim();
        }

        errors.Add(field, message);
        return null;
    }

    private static string? Url(JsonElement body, string field, FieldErrors errors, bool required, bool httpOnly)
    {
        var message = httpOnly ? field + " must be an absolute http or https URL" : field + " must be an absolute URL";
        if (Text(body, field, errors, message, required) is not { } text)
        {
            return null;
        }

        // NOTE: a redirect URI may be a custom scheme (a native app's), so only the endpoints the relay calls must be http(s).
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (!httpOnly || (uri.Scheme is "http" or "https" && uri.Host.Length > 0)))
        {
            return text;
        }

        errors.Add(field, message);
        return null;
    }

    private static List<string>? ParseScopes(JsonElement body, FieldErrors errors)
    {
        const string message = "scopes must be a non-empty array of non-empty strings without spaces";
        if (!body.TryGetProperty("scopes", out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Array)
        {
            var scopes = new List<string>();
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 } scope || scope.Any(char.IsWhiteSpace))
                {
                    errors.Add("scopes", message);
                    return null;
                }

                scopes.Add(scope);
            }

            if (scopes.Count > 0)
            {
                return scopes;
            }
        }

        errors.Add("scopes", message);
        return null;
    }
}
