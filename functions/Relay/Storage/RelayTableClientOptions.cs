using Azure.Core;
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
    public static TableClientOptions Create()
    {
        var options = new TableClientOptions();
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        return options;
    }
}
