using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;
using Serverless.Relay.Accounts;

namespace Serverless.Relay.OAuth;

/// <summary>An authorization just started: where to send the user, and the state that completes it.</summary>
internal sealed record StartedAuthorization(string State, string AuthorizationUrl, DateTimeOffset ExpiresAt);

/// <summary>
/// Adding an OAuth account by the authorization-code grant with PKCE (RFC 6749 §4.1, RFC 7636): <see cref="StartAsync"/>
/// keeps a pending authorization (the verifier encrypted) and returns the URL to send the user to;
/// <see cref="CompleteAsync"/> consumes it, exchanges the code with the verifier, and returns the body of the account
/// to create, shaped as <c>POST /api/admin/accounts</c> with <c>oauth</c>, so the account is created the one way accounts are.
/// </summary>
internal sealed partial class PkceAuthorizations(
    PendingAuthorizationStore pending,
    OAuthTokens tokens,
    IOptions<OAuthOptions> options,
    TimeProvider time,
    ILogger<PkceAuthorizations> logger)
{
    public const string UnknownStateMessage = "state is unknown, expired or already used; start again with POST /api/admin/oauth/authorize";
    private const int MaxStateLength = 128;
    public const int MaxCodeLength = 4096;

    public async Task<StartedAuthorization> StartAsync(AuthorizationRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var state = Pkce.NewState();
        var verifier = Pkce.NewVerifier();
        var expiresAt = now + options.Value.AuthorizationTtl;
        await pending.CreateAsync(
            new PendingAuthorization(
                state,
                request.Account.ToJsonString(),
                new OAuthSettings(request.TokenUrl, request.ClientId, request.Profile.Format),
                request.RedirectUri,
                pending.Protect(state, PendingAuthorizationStore.VerifierColumn, verifier),
                request.ClientSecret is null ? null : pending.Protect(state, PendingAuthorizationStore.ClientSecretColumn, request.ClientSecret),
                expiresAt),
            cancellationToken);
        Log.Started(logger, request.Profile.Provider);

        try
        {
            await pending.SweepExpiredAsync(now, cancellationToken);
        }
        catch (Azure.RequestFailedException e)
        {
            Log.SweepFailed(logger, e.Status);
        }

        return new StartedAuthorization(state, request.AuthorizationUrl(state, Pkce.Challenge(verifier)), expiresAt);
    }

    /// <summary>
    /// Completes the authorization <paramref name="state"/> with the authorization <paramref name="code"/>. The result is
    /// the account body (the caller disposes it), or the error to answer.
    /// </summary>
    public async Task<Result<JsonDocument>> CompleteAsync(string state, string code, CancellationToken cancellationToken)
    {
        // 2. Take the pending authorization: once, and only before it expires.
        if (!IsWellFormedState(state!) || await pending.GetIfExistsAsync(state!, cancellationToken) is not { } authorization)
        {
            return RelayError.Invalid(UnknownStateMessage, "state");
        }

        var consumed = await pending.TryConsumeAsync(state!, authorization.ETag, cancellationToken);
        if (!consumed || authorization.ExpiresAt <= time.GetUtcNow()
            || !pending.TryUnprotect(state!, PendingAuthorizationStore.VerifierColumn, authorization.ProtectedVerifier, out var verifier))
        {
            return RelayError.Invalid(UnknownStateMessage, "state");
        }

        string? clientSecret = null;
        if (authorization.ProtectedClientSecret is { } protectedSecret)
        {
            _ = pending.TryUnprotect(state!, PendingAuthorizationStore.ClientSecretColumn, protectedSecret, out clientSecret);
        }

        // 3. Exchange the code (RFC 6749 §4.1.3 with RFC 7636 §4.5's code_verifier).
        var settings = authorization.Settings;
        var fields = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "authorization_code"),
            new("code", code!),
            new("redirect_uri", authorization.RedirectUri),
            new("client_id", settings.ClientId),
            new("code_verifier", verifier!),
        };
        if (settings.Format == TokenRequestFormat.Json)
        {
            fields.Add(new("state", state!)); // Anthropic's token endpoint wants the state back
        }

        if (clientSecret is not null)
        {
            fields.Add(new("client_secret", clientSecret));
        }

        OAuthTokens.TokenAnswer? answer;
        string? error;
        try
        {
            (answer, error) = await tokens.RequestTokensAsync(settings, fields, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            (answer, error) = (null, "the token endpoint could not be reached (" + e.GetType().Name + ")");
        }

        if (answer is { RefreshToken: null })
        {
            (answer, error) = (null, "the token endpoint's answer has no refresh_token");
        }

        if (answer is null)
        {
            Log.ExchangeFailed(logger, error!);
            return new RelayError(ErrorKind.Upstream, "the authorization code exchange failed: " + error);
        }

        // 4. The account, exactly as POST /api/admin/accounts takes it.
        var account = JsonNode.Parse(authorization.AccountJson)!.AsObject();
        var oauth = new JsonObject
        {
            ["accessToken"] = answer.AccessToken,
            ["refreshToken"] = answer.RefreshToken,
            ["expiresAt"] = time.GetUtcNow() + answer.ExpiresIn,
            ["tokenUrl"] = settings.TokenUrl,
            ["clientId"] = settings.ClientId,
            ["requestFormat"] = OAuthSettings.WireName(settings.Format),
        };
        if (clientSecret is not null)
        {
            oauth["clientSecret"] = clientSecret;
        }

        account["oauth"] = oauth;
        Log.Completed(logger);
        return JsonDocument.Parse(account.ToJsonString());
    }

    private static bool IsWellFormedState(string state) =>
        state.Length <= MaxStateLength && state.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static partial class Log
    {
        [LoggerMessage(EventId = 1640, Level = LogLevel.Information, Message = "Started an OAuth authorization for a {Provider} account")]
        public static partial void Started(ILogger logger, ProviderKind provider);

        [LoggerMessage(EventId = 1641, Level = LogLevel.Information, Message = "Completed an OAuth authorization; creating its account")]
        public static partial void Completed(ILogger logger);

        [LoggerMessage(EventId = 1642, Level = LogLevel.Warning, Message = "An OAuth authorization code exchange failed: {Reason}")]
        public static partial void ExchangeFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1643, Level = LogLevel.Warning, Message = "Sweeping expired OAuth authorizations failed ({Status})")]
        public static partial void SweepFailed(ILogger logger, int status);
    }
}
