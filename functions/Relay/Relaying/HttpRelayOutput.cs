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

    /// <remarks>
    /// NOTE: why the yield. Kestrel's socket transport sends what a flush or <see cref="HttpResponse.CompleteAsync"/>
    /// hands it in a thread-pool work item of its own, queued behind the one running this request. On one busy CPU
    /// that work item waited until the request's bookkeeping and Kestrel's end of request had run (bench/ANALYSIS.md,
    /// "The answer's last bytes before the bookkeeping"); a yield puts the rest of the request in the queue behind it.
    /// </remarks>
    public async ValueTask CompleteAsync()
    {
        await context.Response.CompleteAsync().ConfigureAwait(false);
        await Task.Yield();
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var flush = _body.FlushAsync(cancellationToken);
        return flush.IsCompletedSuccessfully ? default : AwaitAsync(flush);

        static async ValueTask AwaitAsync(ValueTask<FlushResult> pending) => await pending.ConfigureAwait(false);
    }
}
