using System.Buffers;
using Serverless.Relay.Formats;
using Serverless.Relay.Limits;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Where the forwarder writes a successful answer: an HTTP response (<see cref="HttpRelayOutput"/>) or memory for an
/// in-process caller (<see cref="BufferedRelayOutput"/>). Errors before the first byte are not written here: they come
/// back as a <see cref="RelayOutcome"/>.
/// </summary>
internal interface IRelayOutput
{
    /// <summary>Set once <see cref="Start"/> has been called: from then on an error can only travel inside the body.</summary>
    bool Started { get; }

    IBufferWriter<byte> Body { get; }

    /// <summary>
    /// A network hop may drop the response while a stream waits for its upstream (Azure's front end and the host's
    /// proxy do): <see cref="StreamHeartbeat"/> keeps it alive. False for an in-memory caller.
    /// </summary>
    bool NeedsKeepAlive { get; }

    void SetHeader(string name, string value);

    /// <summary>The rate-limit headers of the client's API, on successes and refusals alike.</summary>
    void WriteLimitHeaders(KeyLease lease, WireFormat format);

    /// <summary>Commits the status line of a successful answer.</summary>
    /// <param name="stream">A stream: nothing may buffer it (proxies, compression).</param>
    void Start(int status, string contentType, long? contentLength, bool stream);

    /// <summary>Sends what <see cref="Body"/> holds; completes synchronously when nothing had to wait.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Ends a whole answer: its last bytes, and a stream's end, go to the client before the caller goes on, so that
    /// what the request still does (its usage and audit rows) does not hold them.
    /// </summary>
    ValueTask CompleteAsync();

    /// <summary>
    /// Ends a started answer as cut: a body begun as plain JSON can carry no error, so the client must see it broken
    /// off (a reset connection) rather than a complete-looking response.
    /// </summary>
    void Abort();
}
