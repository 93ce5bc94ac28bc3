using System.Buffers;
using Serverless.Relay.Formats;
using Serverless.Relay.Limits;

namespace Serverless.Relay.Relaying;

/// <summary>An in-process caller's output: the answer, in the request's client format, kept in memory.</summary>
internal sealed class BufferedRelayOutput : IRelayOutput
{
    private readonly ArrayBufferWriter<byte> _body = new(1024);

    public bool Started { get; private set; }

    public int Status { get; private set; }

    public IBufferWriter<byte> Body => _body;

    public bool NeedsKeepAlive => false;

    public ReadOnlyMemory<byte> Written => _body.WrittenMemory;

    public void SetHeader(string name, string value)
    {
    }

    public void WriteLimitHeaders(KeyLease lease, WireFormat format)
    {
    }

    public void Start(int status, string contentType, long? contentLength, bool stream)
    {
        Started = true;
        Status = status;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => default;

    /// <summary>Nothing to send: an in-process caller reads the answer once the request is over.</summary>
    public ValueTask CompleteAsync() => default;

    /// <summary>Nothing to cut: an in-process caller reads the outcome, which says the answer broke off.</summary>
    public void Abort()
    {
    }
}
