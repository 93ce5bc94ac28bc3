using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Admin;

/// <summary>What a request's credentials are to the admin key.</summary>
internal enum AdminKeyCheck
{
    /// <summary>The request carries the operator's admin key.</summary>
    Valid,
    /// <summary>No key at all.</summary>
    Missing,
    /// <summary>A key that is not the admin key (on the quota API it may still be a relay key).</summary>
    Wrong,
    /// <summary><c>RELAY_ADMIN_KEY</c> is not set.</summary>
    Disabled,
}

/// <summary>
/// The operator's admin key (<c>RELAY_ADMIN_KEY</c>), sent as <c>Authorization: Bearer</c> or <c>x-api-key</c>. It opens
/// every admin route and every quota route. <see cref="Authorize"/> is the admin API's one gate.
/// </summary>
internal sealed partial class AdminKeyFilter(IOptions<AdminOptions> options, FailedAuthThrottle throttle, ILogger<AdminKeyFilter> logger)
{
    // Hashing both sides gives equal-length inputs, so the comparison's time says nothing about the key's length either.
    private readonly byte[]? _adminKeyHash = Digest(options.Value.AdminKey);

    /// <summary>What a key is compared by: its SHA-256, or null for no key.</summary>
    public static byte[]? Digest(string? key) => string.IsNullOrEmpty(key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <param name="alsoAccepted">The <see cref="Digest"/> of one more key this route takes (the metrics key), if any.</param>
    public AdminKeyCheck Check(HttpRequest request, byte[]? alsoAccepted = null)
    {
        if (_adminKeyHash is null && alsoAccepted is null)
        {
            return AdminKeyCheck.Disabled;
        }

        string? presented = null;
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = authorization["Bearer ".Length..].Trim();
        }
        else if (request.Headers.TryGetValue("x-api-key", out var apiKey))
        {
            presented = apiKey.ToString().Trim();
        }

        if (string.IsNullOrEmpty(presented))
        {
            return AdminKeyCheck.Missing;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        var valid = _adminKeyHash is not null && CryptographicOperations.FixedTimeEquals(hash, _adminKeyHash);
        valid |= alsoAccepted is not null && CryptographicOperations.FixedTimeEquals(hash, alsoAccepted);
        return valid ? AdminKeyCheck.Valid : AdminKeyCheck.Wrong;
    }

    /// <summary>Null when the request may use the admin API; else the refusal to answer (503 disabled, 401 wrong or missing key).</summary>
    /// <remarks>
    /// NOTE: a throttled address is refused before its key is compared, even the right key: otherwise a guesser who
    /// keeps going past the throttle would still learn the moment a guess is right.
    /// </remarks>
    /// <param name="alsoAccepted">As for <see cref="Check"/>: one more key the route takes, throttled like the admin key.</param>
    public RelayError? Authorize(HttpContext context, byte[]? alsoAccepted = null)
    {
        var client = FailedAuthThrottle.ClientOf(context);
        if (throttle.RetryAfter(client) is { } wait)
        {
            return new RelayError(ErrorKind.RateLimited, "too many failed admin authentications from this address; retry later") { RetryAfter = wait };
        }

        return Check(context.Request, alsoAccepted) switch
        {
            AdminKeyCheck.Valid => null,
            AdminKeyCheck.Disabled => new RelayError(ErrorKind.Unavailable, $"the admin API is disabled: set {AdminOptions.AdminKeySetting} to enable it"),
            _ => Rejected(context, client),
        };
    }

    /// <summary>The one place a request with a missing or wrong admin key ends: it counts against its address.</summary>
    private RelayError Rejected(HttpContext context, string client)
    {
        throttle.Failed(client);
        Log.Unauthorized(logger, context.Connection.RemoteIpAddress?.ToString());
        return new RelayError(ErrorKind.Authentication, "missing or invalid admin key: send it as 'Authorization: Bearer <key>' or 'x-api-key'");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1400, Level = LogLevel.Warning, Message = "Admin request refused: missing or wrong admin key (from {RemoteAddress})")]
        public static partial void Unauthorized(ILogger logger, string? remoteAddress);
    }
}
