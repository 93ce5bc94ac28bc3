using System.Net.Sockets;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats.Gemini;

namespace Serverless.Relay.Failover;

/// <summary>What an upstream status (and, where it decides, its error body) means: how the account is marked, and what kind of error the client is told.</summary>
/// <param name="Failure">The account's mark; null when the refusal is the request's own fault (400, 404…), not the account's.</param>
/// <param name="Kind">The client-facing error kind, mapped by each client format to its own status and shape.</param>
internal readonly record struct UpstreamStatus(FailureKind? Failure, ErrorKind Kind)
{
    /// <summary>
    /// The one table for upstream statuses, used both to mark accounts (<see cref="FailoverExecutor"/>) and to build the
    /// client's error (<c>UpstreamErrors</c>), so the two never disagree.
    /// </summary>
    /// <remarks>
    /// NOTE: 503 is "overloaded" only when the body says so (Anthropic and Gemini write "overloaded" in it); any other
    /// 503 is a server error: the account is marked like a 5xx, and the client gets 503 as
    /// <see cref="ErrorKind.Unavailable"/>. Both kinds answer 503 in every client format except Anthropic's, which
    /// answers 529 only for a real overload. Before, the marking table said server error and the client table said
    /// overloaded for the same 503.
    /// NOTE: a 400 whose body is Google's refusal of the API key (<see cref="GeminiErrors.IsApiKeyInvalid"/>) is the
    /// account's fault, exactly like a 401: Gemini answers a bad key with 400 <c>API_KEY_INVALID</c>. Read as the
    /// request's own 400, the account was never marked, no other account was tried, and Google's "API key not valid"
    /// reached the client as if its own key were wrong.
    /// </remarks>
    public static UpstreamStatus Classify(int status, ReadOnlySpan<byte> body) => status switch
    {
        429 => new(FailureKind.RateLimited, ErrorKind.RateLimited),
        529 => new(FailureKind.Overloaded, ErrorKind.Overloaded),
        401 or 403 => new(FailureKind.Unauthorized, ErrorKind.Upstream),
        400 when GeminiErrors.IsApiKeyInvalid(body) => new(FailureKind.Unauthorized, ErrorKind.Upstream),
        503 when body.IndexOf("overloaded"u8) >= 0 => new(FailureKind.Overloaded, ErrorKind.Overloaded),
        503 => new(FailureKind.ServerError, ErrorKind.Unavailable),
        408 or 504 => new(FailureKind.Timeout, ErrorKind.Timeout),
        >= 500 and <= 599 => new(FailureKind.ServerError, ErrorKind.Upstream),
        400 or 422 => new(null, ErrorKind.InvalidRequest),
        404 => new(null, ErrorKind.NotFound),
        413 => new(null, ErrorKind.RequestTooLarge),
        _ => new(null, ErrorKind.Upstream),
    };

    /// <summary>
    /// Whether a call that got no answer failed because of the relay rather than the upstream: it timed out before
    /// its request reached a connection (it waited in the relay's own connection queue: a connect fails by itself
    /// sooner, see <c>UpstreamHttpOptions.ConnectTimeout</c>), or its connect failed for a reason local to this
    /// machine (no free port, no buffer space, too many sockets). Such a failure never marks the account: the upstream
    /// did nothing wrong, and a slow moment of the relay's own must not take accounts out (issue 11).
    /// </summary>
    /// <param name="error">The exception the send ended with.</param>
    /// <param name="attemptTimedOut">The attempt's own deadline (attempt timeout or total deadline) ended it.</param>
    /// <param name="requestWritten">The request reached a connection (<c>UpstreamHttp.WasWritten</c>).</param>
    public static bool IsRelaysOwn(Exception error, bool attemptTimedOut, bool requestWritten)
    {
        if (attemptTimedOut && !requestWritten)
        {
            return true;
        }

        for (var inner = error; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse or SocketError.AddressNotAvailable or SocketError.NoBufferSpaceAvailable or SocketError.TooManyOpenSockets })
            {
                return true;
            }
        }

        return false;
    }
}
