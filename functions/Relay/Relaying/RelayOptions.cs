using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The relay's stream timings and its bounds on what one instance holds at once (section <c>Relay</c>). With
/// <c>Failover:AttemptTimeout</c> and <c>Failover:TotalDeadline</c> (before the first byte; see <c>FailoverOptions</c>)
/// the timings are every deadline of the request path, and each governs one thing:
/// <list type="bullet">
/// <item><c>Failover:AttemptTimeout</c>: one upstream call, until a stream's headers or an answer's body (a same-format
/// answer's head).</item>
/// <item><c>Failover:TotalDeadline</c>: every attempt together; a non-streamed request that reaches it gets a 504.</item>
/// <item><see cref="StreamHeartbeatInterval"/>: how often a stream still waiting for its first upstream event is sent a
/// keep-alive, so the front end (230 s to start) and the host's proxy (240 s idle) keep it open.</item>
/// <item><see cref="StreamIdleTimeout"/>: the longest silence of an upstream stream once it answered (and of a long
/// non-streamed answer once its first bytes were sent on).</item>
/// </list>
/// </summary>
internal sealed class RelayOptions
{
    /// <summary>
    /// A stream that sends nothing for this long is ended with an error event; every chunk resets it. A long
    /// non-streamed answer that stops this long after its first bytes went on is cut.
    /// </summary>
    [TimeSpanRange("00:00:01", "00:30:00")]
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// While a streamed request waits for its upstream's first event (failing over included), a keep-alive is sent
    /// after each such interval with nothing sent. A quick answer sends none. The first keep-alive commits the 200:
    /// a failure after it reaches the client as an error event in its format.
    /// </summary>
    [TimeSpanRange("00:00:00.050", "00:00:20")]
    public TimeSpan StreamHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Request-body bytes all requests may hold at once (<see cref="InFlightBodies"/>). A body that would not fit in
    /// what remains is refused before it is read, with 429 and <c>Retry-After</c>; one larger than the whole bound, with
    /// 413. Sized for a 2 GB Flex Consumption instance: while in flight a body also lives as the canonical request's
    /// text (UTF-16, twice its bytes), so bodies cost about three times this at most (bench/ANALYSIS.md, "Memory").
    /// </summary>
    [Range(64L * 1024, 64L * 1024 * 1024 * 1024)]
    public long MaxInFlightBodyBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// The most of one non-streamed upstream answer the relay reads to translate it. A longer one is refused with 502
    /// in the client's format and its account is not marked: without a bound one upstream could make an instance hold
    /// any amount. A same-format answer is relayed as it comes (and a stream event by event), so it is not cut here; the
    /// copy it is metered from holds its structure without its long strings, and is bound by this too. So is one event
    /// of a stream: a longer one ends the client's stream with an error event, and its account is not marked.
    /// </summary>
    [Range(1L * 1024 * 1024, 1L * 1024 * 1024 * 1024)]
    public long MaxAnswerBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Relayed requests one instance serves at once (<see cref="InFlightRequests"/>; a stream counts until it ends).
    /// One more is refused before its key or body is read, with 503 and <c>Retry-After</c> in the client's format: a
    /// saturated instance sheds at the door instead of queueing work it cannot finish in time. The default is the most
    /// the Flex Consumption platform can be set to send one instance (its per-instance HTTP concurrency, 1 to 1,000;
    /// the Bicep sets 64), so behind the platform it refuses only what the platform routes beyond its own setting
    /// before it scales out.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxConcurrentRequests { get; set; } = 1000;
}

/// <summary>Checks <see cref="RelayOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class RelayOptionsValidator : IValidateOptions<RelayOptions>;
