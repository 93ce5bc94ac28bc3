using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;
using Serverless.Relay.Storage;

namespace Serverless.Relay.OAuth;

/// <summary>An access token, or why there is none.</summary>
internal readonly record struct TokenResult(string? AccessToken, DateTimeOffset ExpiresAt, string? Error, bool Refreshed = false)
{
    public bool IsSuccess => AccessToken is not null;
}

/// <summary>
/// Access tokens of OAuth accounts: decrypted and cached in memory briefly, refreshed before they expire.
/// NOTE: a refresh can invalidate the token an earlier refresh obtained (refresh tokens rotate), so two refreshers
/// must never race: inside an instance callers share one refresh per account, and across instances the refresher
/// first takes a lease on the account's row (<see cref="RefreshLease"/>); the others wait for its result and reuse it.
/// </summary>
internal sealed partial class OAuthTokens(
    AccountStore store,
    UpstreamHttp http,
    IOptions<OAuthOptions> options,
    TimeProvider time,
    ILogger<OAuthTokens> logger) : IAccountMemory
{
    private readonly ConcurrentDictionary<string, CachedToken> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<TokenResult>>> _refreshing = new(StringComparer.Ordinal);
    private readonly OAuthOptions _options = options.Value;
    private readonly LeaseTerms _leaseTerms = new(LeaseTerms.NewOwner(), options.Value.LeaseDuration, options.Value.LeasePollInterval, time);

    /// <summary>Who holds a lease: unique per process, so a restarted instance never mistakes an old lease for its own.</summary>
    public string InstanceId => _leaseTerms.Owner;

    /// <summary>How many accounts' access tokens are held in memory.</summary>
    internal int Cached => _cache.Count;

    /// <summary>Drops the decrypted tokens of deleted accounts.</summary>
    public void KeepOnly(IReadOnlySet<string> accountIds) => AccountMemory.KeepOnly(_cache, accountIds);

    /// <summary>A token valid for at least <see cref="OAuthOptions.RefreshBefore"/>, refreshing it first if needed.</summary>
    /// <remarks>
    /// NOTE: a token in memory past its <see cref="OAuthOptions.CacheTtl"/> but still valid is used, and read again from
    /// storage behind the request (another instance may have refreshed it, or an admin authorised the account again).
    /// Read on the request path instead, a storage outage failed every request of an OAuth account once its cache life
    /// was over, each after waiting out the storage calls, while a valid token was in memory.
    /// </remarks>
    public ValueTask<TokenResult> GetAccessTokenAsync(UpstreamAccount account, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(account.Id, out var cached) && cached.ExpiresAt - now > _options.RefreshBefore)
        {
            // One request starts the read: the entry's next read is pushed a cache life on first.
            if (now >= cached.FreshUntil && _cache.TryUpdate(account.Id, cached with { FreshUntil = now + _options.CacheTtl }, cached))
            {
                _ = ReadAgainAsync(account.Id);
            }

            return new ValueTask<TokenResult>(new TokenResult(cached.AccessToken, cached.ExpiresAt, null));
        }

        return new ValueTask<TokenResult>(EnsureAsync(account.Id, _options.RefreshBefore, cancellationToken));
    }

    /// <summary>Reads a cached token's row again off the request path; what fails is logged, and the token in memory stays in use.</summary>
    private async Task ReadAgainAsync(string accountId)
    {
        try
        {
            await Task.Yield();
            await EnsureAsync(accountId, _options.RefreshBefore, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.RefreshFailed(logger, accountId, e.GetType().Name);
        }
    }

    /// <summary>Makes sure the account's token stays valid for <paramref name="minValidity"/>; one refresh per account at a time on this instance.</summary>
    public Task<TokenResult> EnsureAsync(string accountId, TimeSpan minValidity, CancellationToken cancellationToken)
    {
        var shared = _refreshing.GetOrAdd(accountId, id => new Lazy<Task<TokenResult>>(() => RunSharedAsync(id, minValidity)));
        return shared.Value.WaitAsync(cancellationToken);
    }

    /// <summary>The <c>RefreshTokens</c> job: every OAuth account whose token expires within <see cref="OAuthOptions.SweepWindow"/>.</summary>
    public async Task<IReadOnlyList<(string AccountId, TokenResult Result)>> SweepAsync(CancellationToken cancellationToken)
    {
        var rows = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var results = new List<(string, TokenResult)>();
        foreach (var row in rows)
        {
            if (row.OAuth is { } secrets && row.Account.Enabled && secrets.ExpiresAt - now <= _options.SweepWindow)
            {
                results.Add((row.Account.Id, await EnsureAsync(row.Account.Id, _options.SweepWindow, cancellationToken).ConfigureAwait(false)));
            }
        }

        return results;
    }

    private async Task<TokenResult> RunSharedAsync(string accountId, TimeSpan minValidity)
    {
        try
        {
            // NOTE: no caller's token: a caller going away must not abandon a refresh others wait for (or a held lease).
            using var timeout = new CancellationTokenSource(_options.LeaseDuration + _options.RequestTimeout, time);
            return await RefreshWithLeaseAsync(accountId, minValidity, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RequestFailedException or OperationCanceledException or HttpRequestException)
        {
            Log.RefreshFailed(logger, accountId, e.GetType().Name);
            return new TokenResult(null, default, "token refresh failed: " + e.GetType().Name);
        }
        finally
        {
            _refreshing.TryRemove(accountId, out _);
        }
    }

    private Task<TokenResult> RefreshWithLeaseAsync(string accountId, TimeSpan minValidity, CancellationToken cancellationToken) =>
        RefreshLease.RunAsync<AccountLeaseState, TokenResult>(
            _leaseTerms,
            async token =>
            {
                var state = await store.GetLeaseStateAsync(accountId, token).ConfigureAwait(false);
                return new LeaseView<AccountLeaseState>(state, state?.ETag, state?.LeaseOwner, state?.LeaseUntil);
            },
            (LeaseView<AccountLeaseState> view, DateTimeOffset now, out TokenResult result) =>
            {
                if (view.Row?.Row.OAuth is not { } secrets || view.Row.Row.Account.OAuth is null)
                {
                    result = new TokenResult(null, default, "the account has no OAuth credentials");
                    return true;
                }

                var fresh = secrets.ExpiresAt - now > minValidity;
                result = fresh ? Remember(accountId, secrets, now) : default;
                return fresh;
            },
            (view, until, token) => store.TryMergeAsync(
                accountId, view.ETag!.Value,
                new Dictionary<string, object?> { [AccountStore.LeaseOwnerColumn] = InstanceId, [AccountStore.LeaseUntilColumn] = until },
                token),
            (view, etag, token) => RefreshAsync(accountId, view.Row!.Row.Account.OAuth!, view.Row.Row.OAuth!, etag, token),
            cancellationToken);

    private async Task<TokenResult> RefreshAsync(string accountId, OAuthSettings settings, OAuthSecrets secrets, ETag etag, CancellationToken cancellationToken)
    {
        var release = new Dictionary<string, object?> { [AccountStore.LeaseOwnerColumn] = null, [AccountStore.LeaseUntilColumn] = null };
        if (secrets.ProtectedRefreshToken is null
            || !store.TryUnprotect(accountId, AccountStore.RefreshTokenColumn, secrets.ProtectedRefreshToken, out var refreshToken, out _))
        {
            return await FailAsync(accountId, etag, release, "the account has no readable refresh token", cancellationToken).ConfigureAwait(false);
        }

        string? clientSecret = null;
        if (secrets.ProtectedClientSecret is not null)
        {
            _ = store.TryUnprotect(accountId, AccountStore.ClientSecretColumn, secrets.ProtectedClientSecret, out clientSecret, out _);
        }

        Log.Refreshing(logger, accountId);
        var (answer, error) = await CallTokenEndpointAsync(settings, refreshToken, clientSecret, cancellationToken).ConfigureAwait(false);
        if (answer is null)
        {
            return await FailAsync(accountId, etag, release, error!, cancellationToken).ConfigureAwait(false);
        }

        var now = time.GetUtcNow();
        var updated = new OAuthSecrets(
            store.Protect(accountId, AccountStore.AccessTokenColumn, answer.AccessToken),
            answer.RefreshToken is null ? secrets.ProtectedRefreshToken : store.Protect(accountId, AccountStore.RefreshTokenColumn, answer.RefreshToken),
            secrets.ProtectedClientSecret,
            now + answer.ExpiresIn);
        release[AccountStore.AccessTokenColumn] = updated.ProtectedAccessToken;
        release[AccountStore.RefreshTokenColumn] = updated.ProtectedRefreshToken;
        release[AccountStore.ExpiresAtColumn] = updated.ExpiresAt;
        release[AccountStore.LastRefreshErrorColumn] = null;
        if (await store.TryMergeAsync(accountId, etag, release, cancellationToken).ConfigureAwait(false) is null)
        {
            // The row changed under our lease (an admin edit, or our lease lapsed and was taken over): keep the token
            // we hold for this call, but trust storage from now on.
            Log.LeaseLost(logger, accountId);
        }

        _cache[accountId] = new CachedToken(answer.AccessToken, updated.ExpiresAt, now + _options.CacheTtl);
        return new TokenResult(answer.AccessToken, updated.ExpiresAt, null, Refreshed: true);
    }

    private async Task<TokenResult> FailAsync(string accountId, ETag etag, Dictionary<string, object?> release, string error, CancellationToken cancellationToken)
    {
        Log.RefreshFailed(logger, accountId, error);
        release[AccountStore.LastRefreshErrorColumn] = error;
        await store.TryMergeAsync(accountId, etag, release, cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(accountId, out _);
        return new TokenResult(null, default, error);
    }

    private TokenResult Remember(string accountId, OAuthSecrets secrets, DateTimeOffset now)
    {
        if (!store.TryUnprotect(accountId, AccountStore.AccessTokenColumn, secrets.ProtectedAccessToken, out var accessToken, out var error))
        {
            return new TokenResult(null, default, $"the access token cannot be decrypted ({error})");
        }

        _cache[accountId] = new CachedToken(accessToken, secrets.ExpiresAt, now + _options.CacheTtl);
        return new TokenResult(accessToken, secrets.ExpiresAt, null);
    }

    private Task<(TokenAnswer? Answer, string? Error)> CallTokenEndpointAsync(OAuthSettings settings, string refreshToken, string? clientSecret, CancellationToken cancellationToken)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "refresh_token"),
            new("refresh_token", refreshToken),
            new("client_id", settings.ClientId),
        };
        if (clientSecret is not null)
        {
            fields.Add(new("client_secret", clientSecret));
        }

        return RequestTokensAsync(settings, fields, cancellationToken);
    }

    /// <summary>
    /// One call to the token endpoint (a refresh, or an authorization-code exchange), in the body format it wants.
    /// A refusal comes back as an error that names the status and the OAuth error code only, never the body.
    /// </summary>
    internal async Task<(TokenAnswer? Answer, string? Error)> RequestTokensAsync(OAuthSettings settings, IReadOnlyList<KeyValuePair<string, string>> fields, CancellationToken cancellationToken)
    {
        HttpContent content = settings.Format == TokenRequestFormat.Json
            ? new StringContent(JsonSerializer.Serialize(fields.ToDictionary(f => f.Key, f => f.Value), OAuthJson.Default.DictionaryStringString), Encoding.UTF8, "application/json")
            : new FormUrlEncodedContent(fields);
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.TokenUrl) { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        using var response = await http.SendAsync(request, timeout.Token).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            // NOTE: the error body can echo the refresh token; only its OAuth error code is kept.
            return (null, $"the token endpoint answered {(int)response.StatusCode}{ErrorCode(body)}");
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (!root.TryGetProperty("access_token", out var access) || access.GetString() is not { Length: > 0 } accessToken)
            {
                return (null, "the token endpoint's answer has no access_token");
            }

            var expiresIn = root.TryGetProperty("expires_in", out var seconds) && seconds.TryGetInt32(out var value) ? value : 3600;
            var newRefresh = root.TryGetProperty("refresh_token", out var rotated) ? rotated.GetString() : null;
            return (new TokenAnswer(accessToken, string.IsNullOrEmpty(newRefresh) ? null : newRefresh, TimeSpan.FromSeconds(expiresIn)), null);
        }
        catch (JsonException)
        {
            return (null, "the token endpoint's answer is not JSON");
        }
    }

    private static string ErrorCode(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("error", out var code) && code.ValueKind == JsonValueKind.String ? $" ({code.GetString()})" : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    internal sealed record TokenAnswer(string AccessToken, string? RefreshToken, TimeSpan ExpiresIn);

    private readonly record struct CachedToken(string AccessToken, DateTimeOffset ExpiresAt, DateTimeOffset FreshUntil);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1630, Level = LogLevel.Information, Message = "Refreshing the OAuth token of account {AccountId}")]
        public static partial void Refreshing(ILogger logger, string accountId);

        [LoggerMessage(EventId = 1631, Level = LogLevel.Warning, Message = "Refreshing the OAuth token of account {AccountId} failed: {Reason}")]
        public static partial void RefreshFailed(ILogger logger, string accountId, string reason);

        [LoggerMessage(EventId = 1632, Level = LogLevel.Warning, Message = "The refresh lease of account {AccountId} was lost before the new token was stored")]
        public static partial void LeaseLost(ILogger logger, string accountId);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class OAuthJson : System.Text.Json.Serialization.JsonSerializerContext;
