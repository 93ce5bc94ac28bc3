using System.Net;

namespace Serverless.Relay.Providers;

/// <summary>
/// The one HTTP client for upstream calls: pooled connections, no automatic decompression (bodies are relayed as
/// they come), no client-wide timeout (each call has its own: the failover attempt timeout until the answer, then a stream idle timeout).
/// </summary>
internal sealed class UpstreamHttp : IDisposable
{
    public UpstreamHttp()
    {
        Client = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.None,
            EnableMultipleHttp2Connections = true,
            UseCookies = false,
            AllowAutoRedirect = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public HttpClient Client { get; }

    public void Dispose() => Client.Dispose();
}
