using System.Net;
using Microsoft.Extensions.Options;
using Serverless.Relay.Failover;

namespace Serverless.Relay.Providers;

/// <summary>
/// The one HTTP client for upstream calls: pooled connections, at most
/// <see cref="UpstreamHttpOptions.MaxConnectionsPerServer"/> per upstream server, no automatic decompression (bodies
/// are relayed as they come), no client-wide timeout (each call has its own: the failover attempt timeout until the
/// answer, then a stream idle timeout).
/// </summary>
/// <remarks>
/// NOTE: why an <see cref="HttpMessageInvoker"/> and not an <see cref="HttpClient"/>. Every call here has its own
/// deadline in its token, so what HttpClient added per call was a linked token source (for a client-wide timeout and
/// <c>CancelPendingRequests</c>, neither used) and an async frame around the handler's: 400 bytes of a relayed
/// request's 13 KB (bench/ANALYSIS.md, "Upstream calls without HttpClient"). The handler answers once the response's
/// headers are in, as HttpClient's <see cref="HttpCompletionOption.ResponseHeadersRead"/> did; the caller reads the body.
/// <para>
/// A call that finds every connection to its server busy waits in the pool's queue. That wait is the relay's own, not
/// the upstream's: <see cref="WasWritten"/> tells the caller whether the request ever reached a connection, so an
/// attempt that timed out before it did never marks the account (<see cref="UpstreamStatus.IsRelaysOwn"/>).
/// </para>
/// </remarks>
internal sealed class UpstreamHttp : IDisposable
{
    private static readonly HttpRequestOptionsKey<WriteMark> Written = new("relay.upstream.written");

    private readonly HttpMessageInvoker _invoker;

    public UpstreamHttp(IOptions<UpstreamHttpOptions> options, IOptions<FailoverOptions> failover)
    {
        var value = options.Value;
        _invoker = new HttpMessageInvoker(new WriteObserver(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromTicks(Math.Min(value.ConnectTimeout.Ticks, failover.Value.AttemptTimeout.Ticks / 2)),
            MaxConnectionsPerServer = value.MaxConnectionsPerServer,
            AutomaticDecompression = DecompressionMethods.None,
            EnableMultipleHttp2Connections = true,
            UseCookies = false,
            AllowAutoRedirect = false,
        }));
    }

    /// <summary>Sends <paramref name="request"/>; completes when the response's headers are in (its body is read by the caller, and must be disposed).</summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker.SendAsync(request, cancellationToken);

    /// <summary>
    /// Whether <paramref name="request"/> got a connection and its body began to be written; false while it waited in
    /// the pool's queue or for its connect. A request without a body counts as written once sent.
    /// </summary>
    public static bool WasWritten(HttpRequestMessage request) =>
        request.Options.TryGetValue(Written, out var mark) && mark.Written;

    public void Dispose() => _invoker.Dispose();

    private sealed class WriteMark
    {
        public volatile bool Written;
    }

    /// <summary>Wraps each request body so that its first write (on a connection, after the headers) is seen.</summary>
    private sealed class WriteObserver(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var mark = new WriteMark();
            request.Options.Set(Written, mark);
            if (request.Content is { } content)
            {
                request.Content = new ObservedContent(content, mark);
            }
            else
            {
                mark.Written = true;
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class ObservedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly WriteMark _mark;

        public ObservedContent(HttpContent inner, WriteMark mark)
        {
            _inner = inner;
            _mark = mark;
            foreach (var (name, values) in inner.Headers.NonValidated)
            {
                Headers.TryAddWithoutValidation(name, values);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            _mark.Written = true;
            return _inner.CopyToAsync(stream, context, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _inner.Headers.ContentLength ?? -1;
            return length >= 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
