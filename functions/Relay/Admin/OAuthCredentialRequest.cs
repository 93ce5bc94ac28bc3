using System.Text.Json;
using Serverless.Relay.OAuth;
using Serverless.Relay.Accounts;

namespace Serverless.Relay.Admin;

/// <summary>
/// The <c>oauth</c> object of <c>POST /api/admin/accounts</c>: <c>{accessToken, refreshToken, expiresAt, tokenUrl,
/// clientId, clientSecret?, requestFormat?: "form" | "json"}</c> (Google and Anthropic style). Secrets are encrypted
/// at rest like API keys.
/// </summary>
internal sealed record OAuthCredentialRequest(string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt, OAuthSettings Settings, string? ClientSecret)
{
    public const string Message = "oauth must be an object with string accessToken, refreshToken, tokenUrl (absolute http or https URL), clientId, "
        + "expiresAt (ISO 8601), and optional clientSecret and requestFormat (form or json)";

    public static OAuthCredentialRequest? Parse(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("oauth", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        string? Text(string name) => value.TryGetProperty(name, out var field) && field.ValueKind == JsonValueKind.String && field.GetString() is { Length: > 0 } text ? text : null;

        var format = Text("requestFormat") switch
        {
            null or "form" => (TokenRequestFormat?)TokenRequestFormat.Form,
            "json" => TokenRequestFormat.Json,
            _ => null,
        };
        if (value.ValueKind == JsonValueKind.Object
            && Text("accessToken") is { } access && Text("refreshToken") is { } refresh && Text("clientId") is { } clientId
            && Text("tokenUrl") is { } tokenUrl && Uri.TryCreate(tokenUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            && value.TryGetProperty("expiresAt", out var expires) && expires.ValueKind == JsonValueKind.String && expires.TryGetDateTimeOffset(out var expiresAt)
            && format is { } requestFormat)
        {
            return new OAuthCredentialRequest(access, refresh, expiresAt, new OAuthSettings(tokenUrl, clientId, requestFormat), Text("clientSecret"));
        }

        errors.Add("oauth", Message);
        return null;
    }
}
