using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Storage;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms;

/// <summary>What a platform's token endpoint said: a token and how long it lives, or why there is none.</summary>
internal sealed record TokenFetch(string? Token, TimeSpan Lifetime, string? Error, bool Permanent)
{
    public static TokenFetch Issued(string token, TimeSpan lifetime) => new(token, lifetime, null, false);

    public static TokenFetch Failed(string error, bool permanent) => new(null, default, error, permanent);
}

/// <summary>A channel's access token, or why there is none (<see cref="Permanent"/>: bad credentials, not worth retrying).</summary>
internal readonly record struct PlatformTokenResult(string? Token, string? Error, bool Permanent)
{
    public bool IsSuccess => Token is not null;
}

/// <summary>
/// Access tokens the platforms issue for 7200 s (Feishu tenant_access_token, WeCom access_token), per channel: held in
/// memory, refreshed <see cref="PlatformOptions.TokenRefreshBefore"/> before they expire, one refresh per channel at a
/// time in the process, and once across instances through the <c>imtokens</c> table and its <see cref="RefreshLease"/>
/// (an instance that finds another refreshing waits and reuses its token).
/// NOTE: the row remembers a hash of the credentials that issued the token, so changing a channel's app secret fetches
/// a new token instead of reusing the old app's until it expires.
/// </summary>
internal sealed partial class PlatformTokenCache(PlatformTokenStore store, IOptions<PlatformOptions> options, TimeProvider time, ILogger<PlatformTokenCache> logger)
{
    private readonly ConcurrentDictionary<string, CachedToken> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<PlatformTokenResult>>> _refreshing = new(StringComparer.Ordinal);
    private readonly PlatformOptions _options = options.Value;
    private readonly LeaseTerms _terms = new(LeaseTerms.NewOwner(), options.Value.TokenLeaseDuration, options.Value.TokenLeasePollInterval, time);

    /// <summary>
    /// A token valid for at least <see cref="PlatformOptions.TokenRefreshBefore"/>, fetched with <paramref name="fetch"/> when needed.
    /// </summary>
    /// <param name="credentials">The credentials the token is issued for (app id and secret): a change means a new token.</param>
    /// <param name="rejected">A token the platform just refused (WeCom 40014/42001): never returned again, a new one is fetched.</param>
    public ValueTask<PlatformTokenResult> GetAsync(
        Channel channel, string credentials, Func<CancellationToken, Task<TokenFetch>> fetch, CancellationToken cancellationToken, string? rejected = null)
    {
        var issuer = IssuerOf(channel, credentials);
        if (_cache.TryGetValue(channel.Id, out var cached) && IsUsable(cached.Token, cached.ExpiresAt, cached.Issuer, issuer, rejected, time.GetUtcNow()))
        {
            return new ValueTask<PlatformTokenResult>(new PlatformTokenResult(cached.Token, null, false));
        }

        var shared = _refreshing.GetOrAdd(channel.Id, _ => new Lazy<Task<PlatformTokenResult>>(() => RunSharedAsync(channel, issuer, fetch, rejected)));
        return new ValueTask<PlatformTokenResult>(shared.Value.WaitAsync(cancellationToken));
    }

    private async Task<PlatformTokenResult> RunSharedAsync(Channel channel, string issuer, Func<CancellationToken, Task<TokenFetch>> fetch, string? rejected)
    {
        try
        {
            // NOTE: no caller's token: a caller going away must not abandon a refresh others wait for (or a held lease).
            using var timeout = new CancellationTokenSource(_options.TokenLeaseDuration + _options.HttpTimeout, time);
            return await RefreshLease.RunAsync<StoredPlatformToken, PlatformTokenResult>(
                _terms,
                token => store.ReadAsync(channel, token),
                (LeaseView<StoredPlatformToken> view, DateTimeOffset now, out PlatformTokenResult result) =>
                {
                    result = default;
                    if (view.Row is not { Token: { } stored } row || !IsUsable(stored, row.ExpiresAt, row.Issuer, issuer, rejected, now))
                    {
                        return false;
                    }

                    Remember(channel.Id, new CachedToken(stored, row.ExpiresAt, issuer));
                    result = new PlatformTokenResult(stored, null, false);
                    return true;
                },
                (view, until, token) => store.TryLeaseAsync(channel, view, _terms.Owner, until, token),
                (_, leased, token) => FetchAsync(channel, issuer, fetch, leased, token),
                timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RequestFailedException or OperationCanceledException or HttpRequestException)
        {
            Log.FetchFailed(logger, channel.Id, e.GetType().Name);
            return new PlatformTokenResult(null, "access token unavailable: " + e.GetType().Name, false);
        }
        finally
        {
            _refreshing.TryRemove(channel.Id, out _);
        }
    }

    private async Task<PlatformTokenResult> FetchAsync(Channel channel, string issuer, Func<CancellationToken, Task<TokenFetch>> fetch, ETag leased, CancellationToken cancellationToken)
    {
        Log.Fetching(logger, channel.Id, channel.Platform);
        var answer = await fetch(cancellationToken).ConfigureAwait(false);
        if (answer.Token is not { } token)
        {
            Log.FetchFailed(logger, channel.Id, answer.Error ?? "no token");
            _cache.TryRemove(channel.Id, out _);
            await store.TryReleaseAsync(channel, leased, cancellationToken).ConfigureAwait(false);
            return new PlatformTokenResult(null, answer.Error ?? "no token", answer.Permanent);
        }

        var expiresAt = time.GetUtcNow() + answer.Lifetime;
        if (!await store.TryStoreAsync(channel, leased, token, expiresAt, issuer, cancellationToken).ConfigureAwait(false))
        {
            // Our lease lapsed and another instance took over: this token is still good for this call.
            Log.LeaseLost(logger, channel.Id);
        }

        Remember(channel.Id, new CachedToken(token, expiresAt, issuer));
        return new PlatformTokenResult(token, null, false);
    }

    /// <summary>
    /// Forgets a deleted channel's token, in memory and in the table (a live platform token, encrypted, which no one
    /// would ever read again).
    /// </summary>
    public Task ForgetAsync(Channel channel, CancellationToken cancellationToken)
    {
        _cache.TryRemove(channel.Id, out _);
        return store.DeleteAsync(channel, cancellationToken);
    }

    /// <summary>
    /// NOTE: tokens past their expiry go as a new one comes (every two hours or so per channel in use), so the tokens of
    /// channels deleted on another instance, or no longer used, do not stay in memory until the process ends.
    /// </summary>
    private void Remember(string channelId, CachedToken token)
    {
        var now = time.GetUtcNow();
        foreach (var (id, cached) in _cache)
        {
            if (cached.ExpiresAt <= now)
            {
                _cache.TryRemove(new KeyValuePair<string, CachedToken>(id, cached));
            }
        }

        _cache[channelId] = token;
    }

    /// <summary>How many channels' tokens are held in memory.</summary>
    internal int Cached => _cache.Count;

    private bool IsUsable(string token, DateTimeOffset expiresAt, string? storedIssuer, string issuer, string? rejected, DateTimeOffset now) =>
        storedIssuer == issuer && token != rejected && expiresAt - now > _options.TokenRefreshBefore;

    /// <summary>A short hash naming the credentials (never the secret itself), with the platform and API origin (Feishu vs Lark).</summary>
    private static string IssuerOf(Channel channel, string credentials) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(channel.Platform + "\n" + channel.ApiBaseUrl + "\n" + credentials)))[..32];

    private readonly record struct CachedToken(string Token, DateTimeOffset ExpiresAt, string Issuer);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2300, Level = LogLevel.Information, Message = "Fetching the {Platform} access token of channel {ChannelId}")]
        public static partial void Fetching(ILogger logger, string channelId, ImPlatform platform);

        [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Fetching the access token of channel {ChannelId} failed: {Reason}")]
        public static partial void FetchFailed(ILogger logger, string channelId, string reason);

        [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "The token lease of channel {ChannelId} was lost before the new token was stored")]
        public static partial void LeaseLost(ILogger logger, string channelId);
    }
}
