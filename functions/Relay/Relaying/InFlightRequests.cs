using Microsoft.Extensions.Options;
using Serverless.Relay.Telemetry;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The instance's own bound on relayed requests at once (<see cref="RelayOptions.MaxConcurrentRequests"/>): a request
/// enters before any work and leaves when its answer or stream has ended, however it ended (issue 11: "a saturated
/// relay sheds with 503 + Retry-After, never by timing out work it already accepted").
/// </summary>
/// <remarks>
/// NOTE: a counter rather than a semaphore, as <see cref="InFlightBodies"/>: a request that does not fit is refused at
/// once and never waits here. Incremented first and given back when over: one atomic operation on the request path,
/// and the count never stays above the bound.
/// </remarks>
internal sealed class InFlightRequests
{
    private readonly int _limit;
    private int _count;

    public InFlightRequests(IOptions<RelayOptions> options, RelayMetrics metrics)
    {
        _limit = options.Value.MaxConcurrentRequests;
        metrics.ObserveRequestsInFlight(() => Count);
    }

    /// <summary>Requests admitted and not yet ended.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Admits one more request if the bound allows it; every admitted request must <see cref="Leave"/>.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _count) <= _limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }

    public void Leave() => Interlocked.Decrement(ref _count);
}
