using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Providers;

/// <summary>The upstream client's connection pool (section <c>UpstreamHttp</c>); see <see cref="UpstreamHttp"/>.</summary>
internal sealed class UpstreamHttpOptions
{
    public const string Section = "UpstreamHttp";

    /// <summary>
    /// Connections the relay opens to one upstream server (scheme, host and port) at most; further calls wait for one
    /// to be free. A burst of streams on a fresh pool once opened 200 connections at once, overflowed the upstream's
    /// accept queue and opened the only account's circuit (issue 11). Upstream calls are HTTP/1.1, one call per
    /// connection, so this is also the number of calls in flight to one server.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxConnectionsPerServer { get; set; } = 128;

    /// <summary>
    /// One TCP (and TLS) connect at most; never more than half of <c>Failover:AttemptTimeout</c>, so a connect to a
    /// dead host fails by itself (and marks its account) before the attempt times out.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Checks <see cref="UpstreamHttpOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class UpstreamHttpOptionsValidator : IValidateOptions<UpstreamHttpOptions>;
