namespace Serverless.Relay.Accounts;

/// <summary>How a token endpoint wants its refresh request.</summary>
internal enum TokenRequestFormat
{
    /// <summary>RFC 6749 <c>application/x-www-form-urlencoded</c> (Google).</summary>
    Form,
    /// <summary>A JSON body with the same fields (Anthropic / Claude).</summary>
    Json,
}

/// <summary>The non-secret half of an account's OAuth credentials; the tokens themselves live encrypted in its row.</summary>
internal sealed record OAuthSettings(string TokenUrl, string ClientId, TokenRequestFormat Format)
{
    public static string WireName(TokenRequestFormat format) => format == TokenRequestFormat.Json ? "json" : "form";
}

/// <summary>An account's stored OAuth state: encrypted tokens (<c>kid:base64</c>), expiry, last refresh error.</summary>
internal sealed record OAuthSecrets(string ProtectedAccessToken, string? ProtectedRefreshToken, string? ProtectedClientSecret, DateTimeOffset ExpiresAt, string? LastRefreshError = null);
