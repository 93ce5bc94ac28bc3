using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Failover;

/// <summary>
/// How hard and how long the relay tries before the first byte. Bound from the <c>Failover</c> section. These are the
/// only deadlines before the first byte; after it, <c>Relay:StreamIdleTimeout</c> applies, and a waiting stream is kept
/// alive by <c>Relay:StreamHeartbeatInterval</c> (see <c>RelayOptions</c>).
/// </summary>
internal sealed class FailoverOptions
{
    public const string Section = "Failover";

    /// <summary>Upstream calls per request, each on another account; 1 turns failover off.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// One attempt: until the response headers of a stream, or the body of an answer (a same-format answer's first
    /// <c>RelayLimits.AnswerHeadBytes</c>; its rest is under <c>Relay:StreamIdleTimeout</c>). Never longer than
    /// <see cref="TotalDeadline"/>, which cuts it; lower it to fail over sooner from an upstream that hangs.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:03:40")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(210);

    /// <summary>
    /// Every attempt together, from the first call until an upstream answers: the request's deadline. A non-streamed
    /// request that reaches it is answered 504 in the client's format. The default stays under Azure's limits (the
    /// front end drops a response not started within 230 s; <c>functionTimeout</c> is longer) with room for the
    /// steps before the first call, each bounded by <c>Storage:HotPathTimeout</c>.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:03:40")]
    public TimeSpan TotalDeadline { get; set; } = TimeSpan.FromSeconds(210);
}

/// <summary>Checks <see cref="FailoverOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class FailoverOptionsValidator : IValidateOptions<FailoverOptions>;
