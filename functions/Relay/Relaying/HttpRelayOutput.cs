using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Serverless.Relay.Formats;
using Serverless.Relay.Limits;

namespace Serverless.Relay.Relaying;

/// <summary>The client's HTTP response as an <see cref="IRelayOutput"/>: the body goes straight to Kestrel's pipe.</summary>
internal sealed class HttpRelayOutput(HttpContext context, TimeProvider time) : IRelayOutput
{
    private readonly PipeWriter _body = context.Response.BodyWriter;

    public bool Started { get; private set; }

    public IBufferWriter<byte> Body => _body;

    public bool NeedsKeepAlive => true;

    public void SetHeader(string name, string value) => context.Response.Headers[name] = value;

    public void WriteLimitHeaders(KeyLease lease, WireFormat format) => LimitHeaders.Write(context.Response, format, lease, time.GetUtcNow());

    public void Start(int status, string contentType, long? contentLength, bool stream)
    {
        Started = true;
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = contentLength;
        if (stream)
        {
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        }
    }

    public void Abort() => context.Abort();

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var flush = _body.FlushAsync(cancellationToken);
        return flush.IsCompletedSuccessfully ? default : AwaitAsync(flush);

        static async ValueTask AwaitAsync(ValueTask<FlushResult> pending) => await pending.ConfigureAwait(false);
    }
}
