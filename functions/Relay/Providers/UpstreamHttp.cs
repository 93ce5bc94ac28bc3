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
    private readonly HttpMessageInvoker _invoker;

    public UpstreamHttp(IOptions<UpstreamHttpOptions> options, IOptions<FailoverOptions> failover)
    {
        var value = options.Value;
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromTicks(Math.Min(value.ConnectTimeout.Ticks, failover.Value.AttemptTimeout.Ticks / 2)),
            MaxConnectionsPerServer = value.MaxConnectionsPerServer,
            AutomaticDecompression = DecompressionMethods.None,
            EnableMultipleHttp2Connections = true,
            UseCookies = false,
            AllowAutoRedirect = false,
        });
    }

    /// <summary>Sends <paramref name="request"/>; completes when the response's headers are in (its body is read by the caller, and must be disposed).</summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker.SendAsync(request, cancellationToken);

    /// <summary>
    /// Whether <paramref name="request"/> got a connection and its body began to be written; false while it waited in
    /// the pool's queue or for its connect. Relayed calls carry an <see cref="UpstreamBody"/>; a request with any other
    /// body, or none, cannot tell and counts as written.
    /// </summary>
    public static bool WasWritten(HttpRequestMessage request) => request.Content is not UpstreamBody body || body.Written;

    public void Dispose() => _invoker.Dispose();
}
