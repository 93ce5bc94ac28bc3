using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Relaying;

/// <summary>Turns the presented relay key into a usable <see cref="ClientKey"/> or the error to answer.</summary>
internal sealed class ClientAuthenticator(IClientKeyAuthenticator keys, FailedAuthThrottle throttle, TimeProvider time)
{
    /// <summary>How soon a client refused for a storage outage should retry.</summary>
    internal static readonly TimeSpan UnavailableRetryAfter = TimeSpan.FromSeconds(5);

    public async ValueTask<(ClientKey? Key, RelayError? Error)> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var presented = ClientKeyReader.Read(request);
        if (presented is null)
        {
            return (null, new RelayError(ErrorKind.Authentication, "Missing API key: send it as 'Authorization: Bearer <key>', 'x-api-key' or 'x-goog-api-key'."));
        }

        // An address that keeps presenting wrong keys is refused before the lookup, which may cost a storage read.
        // A key this instance already knows is still served: one broken client behind a shared address (NAT) must
        // not lock out the others.
        var client = FailedAuthThrottle.ClientOf(request.HttpContext);
        KeyLookup lookup;
        if (throttle.RetryAfter(client) is { } wait)
        {
            if (keys.FindCached(presented) is not { } known)
            {
                return (null, new RelayError(ErrorKind.RateLimited, "Too many requests with invalid API keys from this address; retry later.") { RetryAfter = wait });
            }

            lookup = new KeyLookup(known, false);
        }
        else
        {
            lookup = await keys.LookupAsync(presented, cancellationToken).ConfigureAwait(false);
        }

        if (lookup.StorageUnavailable)
        {
            return (null, new RelayError(ErrorKind.Unavailable, "The key store is unavailable; retry shortly.") { RetryAfter = UnavailableRetryAfter });
        }

        var key = lookup.Key;
        if (key is null)
        {
            throttle.Failed(client);
            return (null, new RelayError(ErrorKind.Authentication, "Invalid API key."));
        }

        if (!key.Enabled)
        {
            return (null, new RelayError(ErrorKind.PermissionDenied, "This API key is disabled."));
        }

        if (key.IsExpired(time.GetUtcNow()))
        {
            return (null, new RelayError(ErrorKind.PermissionDenied, "This API key has expired."));
        }

        return (key, null);
    }
}
