using System.Net;
using Microsoft.Extensions.Options;

namespace Serverless.Webhooks.Platforms;

/// <summary>
/// The one HTTP client for IM platform APIs (replies and token requests), shaped like <c>UpstreamHttp</c>: pooled
/// connections, no redirects (a reply must not follow a platform's redirect to another host), one overall timeout.
/// NOTE: not <c>IHttpClientFactory</c>: its logging handler writes request URLs, and Telegram's URL holds the bot token.
/// </summary>
internal sealed class PlatformHttp : IDisposable
{
    public PlatformHttp(IOptions<PlatformOptions> options)
    {
        Client = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = options.Value.HttpTimeout,
            AutomaticDecompression = DecompressionMethods.All,
            UseCookies = false,
            AllowAutoRedirect = false,
        })
        {
            Timeout = options.Value.HttpTimeout,
        };
    }

    public HttpClient Client { get; }

    public void Dispose() => Client.Dispose();
}
