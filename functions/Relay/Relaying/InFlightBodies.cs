using Microsoft.Extensions.Options;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The process-wide bound on request-body bytes held at once (<see cref="RelayOptions.MaxInFlightBodyBytes"/>): a
/// body takes its bytes before it is read and gives them back when its request ends (<see cref="RequestBody"/>), so
/// memory for bodies is bounded by configuration, however many large requests arrive together (issue 11).
/// </summary>
/// <remarks>
/// NOTE: a lock-free counter rather than a semaphore: a request that does not fit is refused at once (the client
/// retries after <c>Retry-After</c>); it never waits here holding a connection.
/// </remarks>
internal sealed class InFlightBodies(IOptions<RelayOptions> options)
{
    private long _held;

    public long Limit { get; } = options.Value.MaxInFlightBodyBytes;

    /// <summary>Bytes taken by bodies being read or held by requests in flight.</summary>
    public long Held => Volatile.Read(ref _held);

    /// <summary>Takes <paramref name="bytes"/> if they fit in what remains; takes nothing otherwise.</summary>
    public bool TryTake(long bytes)
    {
        var held = Volatile.Read(ref _held);
        while (true)
        {
            if (bytes > Limit - held)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _held, held + bytes, held);
            if (seen == held)
            {
                return true;
            }

            held = seen;
        }
    }

    public void Release(long bytes) => Interlocked.Add(ref _held, -bytes);
}
