using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;

namespace Serverless.Relay.Providers;

/// <summary>
/// A relayed request's JSON body, already in memory: sent as it is, and marked <see cref="Written"/> once a connection
/// begins to take it, which tells the relay's own wait for a connection from the upstream's fault
/// (<see cref="UpstreamHttp.WasWritten"/>).
/// </summary>
/// <remarks>
/// NOTE: why a content type of our own. The mark used to come from a handler in front of the connection pool that
/// wrapped every request's content in an observing one, copying its headers, and kept the mark in the request's
/// options (a dictionary made per request): four objects and a copy per call for one flag the body can carry itself.
/// </remarks>
internal sealed class UpstreamBody : HttpContent
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly ReadOnlyMemory<byte> _bytes;
    private volatile bool _written;

    public UpstreamBody(ReadOnlyMemory<byte> bytes)
    {
        _bytes = bytes;
        Headers.ContentType = Json;
    }

    /// <summary>A connection began to take the body (its headers are on the wire); false while the call waited for one.</summary>
    public bool Written => _written;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _written = true;
        return stream.WriteAsync(_bytes, cancellationToken).AsTask();
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _written = true;
        stream.Write(_bytes.Span);
    }

    /// <summary>Reading the body (a test, a log) is not sending it: no mark.</summary>
    protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult<Stream>(ReadStream());

    protected override Stream CreateContentReadStream(CancellationToken cancellationToken) => ReadStream();

    protected override bool TryComputeLength(out long length)
    {
        length = _bytes.Length;
        return true;
    }

    private MemoryStream ReadStream() => MemoryMarshal.TryGetArray(_bytes, out var segment)
        ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
        : new MemoryStream(_bytes.ToArray(), writable: false);
}
