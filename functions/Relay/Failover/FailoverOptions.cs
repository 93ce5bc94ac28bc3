using System.ComponentModel.DataAnnotations;

namespace Serverless.Relay.Failover;

/// <summary>How hard the relay tries before the first byte. Bound from the <c>Failover</c> section.</summary>
internal sealed class FailoverOptions
{
    public const string Section = "Failover";

    /// <summary>Upstream calls per request, each on another account; 1 turns failover off.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// One attempt: until the response headers of a stream, or the whole body of an answer. Kept under Azure's 230 s
    /// by default; lower it to fail over sooner from an upstream that hangs.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:03:50")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(220);

    /// <summary>Every attempt together, from the first call to the first byte sent to the client.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:03:50")]
    public TimeSpan TotalDeadline { get; set; } = TimeSpan.FromSeconds(220);
}
