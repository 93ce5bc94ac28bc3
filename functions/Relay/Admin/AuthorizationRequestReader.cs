using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.OAuth;
using Serverless.Relay.Providers;
using Serverless.Relay.Accounts;

namespace Serverless.Relay.Admin;

/// <summary>Reads the body of <c>POST oauth/authorize</c> into an <see cref="AuthorizationRequest"/>, reporting every bad field.</summary>
internal static class AuthorizationRequestReader
{
    private const int MaxFieldLength = AuthorizationRequest.MaxFieldLength;

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
