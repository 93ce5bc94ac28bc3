using System.ComponentModel.DataAnnotations;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Timeouts of the relay after the first byte. Before it, the only deadlines are the failover's
/// (<c>Failover:AttemptTimeout</c> per attempt, <c>Failover:TotalDeadline</c> for all), kept under Azure's 230 s.
/// </summary>
internal sealed class RelayOptions
{
    /// <summary>A stream that sends nothing for this long is ended with an error event; every chunk resets it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(120);
}
