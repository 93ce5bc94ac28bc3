using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Relaying;

/// <summary>Turns the presented relay key into a usable <see cref="ClientKey"/> or the error to answer.</summary>
internal sealed class ClientAuthenticator(IClientKeyAuthenticator keys, TimeProvider time)
{
    public async ValueTask<(ClientKey? Key, RelayError? Error)> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var presented = ClientKeyReader.Read(request);
        if (presented is null)
        {
            return (null, new RelayError(ErrorKind.Authentication, "Missing API key: send it as 'Authorization: Bearer <key>', 'x-api-key' or 'x-goog-api-key'."));
        }

        var key = await keys.AuthenticateAsync(presented, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
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
