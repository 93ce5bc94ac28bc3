using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;

namespace Serverless.Relay.Storage;

/// <summary>
/// The Table SDK's transport settings for the relay's service client. NOTE: the SDK defaults (3 retries from 0.8 s,
/// a 100 s network timeout per try) held a request 5.6 s on a refused connection and indefinitely on a hanging one
/// (issue 8). Request-path reads are bounded by <see cref="HotPathStorage"/> anyway; these settings keep the
/// background writers (usage rows, counters), which retry on their own, from stacking long SDK waits under theirs.
/// </summary>
internal static class RelayTableClientOptions
{
    /// <param name="transport">The connections to send on (<see cref="CreateTransport"/>), shared by the instance's clients.</param>
    public static TableClientOptions Create(HttpPipelineTransport transport)
    {
        var options = new TableClientOptions { Transport = transport };
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        return options;
    }

    /// <summary>
    /// The SDK's default transport with a cap on connections per server (<see cref="StorageTransportOptions"/> says
    /// why). Disposed with the clients that use it.
    /// </summary>
    public static HttpClientTransport CreateTransport(StorageTransportOptions options) =>
        new(new SocketsHttpHandler
        {
            // As Azure.Core's own handler: the SDK follows no redirects and keeps no cookies; a connection is replaced
            // after 5 minutes so a changed DNS answer is seen.
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = options.MaxConnections,
        });
}
