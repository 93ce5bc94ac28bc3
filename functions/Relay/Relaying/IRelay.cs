namespace Serverless.Relay.Relaying;

/// <summary>The outcome of an in-process relay, and the answer's text when it was answered.</summary>
internal sealed record RelayResult(RelayOutcome Outcome, string? Text);

/// <summary>
/// The relay for callers inside the process (IM channels, jobs): the same limits, scheduling, sticky sessions,
/// failover, metering and usage rows as an HTTP client gets, without an HTTP hop. Build the request with
/// <see cref="RelayRequest.Create"/>.
/// </summary>
internal interface IRelay
{
    Task<RelayResult> RelayAsync(RelayRequest request, CancellationToken cancellationToken);
}
