using System.ComponentModel.DataAnnotations;

namespace Serverless.Relay.Relaying;

/// <summary>Timeouts of the relay. Defaults fit Azure's 230 s limit for an HTTP response to start.</summary>
internal sealed class RelayOptions
{
    /// <summary>
    /// A non-streamed call must answer within this, so the client gets a clear 504 before the platform's load
    /// balancer cuts the connection at 230 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:03:50")]
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(220);

    /// <summary>A stream that sends nothing for this long is ended with an error event; every chunk resets it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(120);
}
