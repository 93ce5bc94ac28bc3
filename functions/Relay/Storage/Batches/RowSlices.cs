using System.Runtime.CompilerServices;

namespace Serverless.Relay.Storage.Batches;

/// <summary>
/// Cuts the usage writer's row work (rows made from records, batch bodies written) into slices that share the CPU with
/// the request path: after every <see cref="Rows"/> rows the work yields to the thread pool, whose global queue is
/// first in, first out, so a request's work queued meanwhile runs before the rest of the batch.
/// </summary>
/// <remarks>
/// Why slices: at concurrency 1 on one CPU, the slowest 1 % of requests were those that arrived while a round of about
/// 200 rows was written in one piece (about 1 ms of CPU), which made the relay's own p99 four times the bare forwarder's
/// (bench/ANALYSIS.md, "The usage writer in slices"). A slice of 16 rows is some tens of microseconds; a yield costs
/// about a microsecond. Each yield lets the threads waiting for the CPU run first: a pool yield alone never leaves the
/// CPU, and the runtime's socket thread, woken by a request's bytes, waited for the scheduler to preempt the writer
/// before it queued the request.
/// <para>
/// Why only while the writer keeps up (<see cref="Shared"/>): on a full CPU every yield waits behind the whole queue of
/// request work, and the writer fell behind until its queue was full and the relay shed requests with 503 at
/// concurrency 256 (bench/ANALYSIS.md, "Slices only while the writer keeps up"). A round that is behind runs in one
/// piece (<see cref="Whole"/>), as it did before slices.
/// </para>
/// </remarks>
internal sealed class RowSlices
{
    public const int Rows = 16;

    private readonly bool _yields;

    private RowSlices(bool yields) => _yields = yields;

    /// <summary>Row work that yields every <see cref="Rows"/> rows.</summary>
    public static RowSlices Shared { get; } = new(yields: true);

    /// <summary>Row work in one piece.</summary>
    public static RowSlices Whole { get; } = new(yields: false);

    /// <summary>Whether to yield now, after <paramref name="done"/> rows.</summary>
    public bool Due(int done) => _yields && done % Rows == 0;

    /// <summary>
    /// Lets the threads waiting for this CPU run (a <c>sched_yield</c>, which returns at once when none is), then puts
    /// the rest of the work behind what they queued meanwhile.
    /// </summary>
    public static YieldAwaitable Yield()
    {
        Thread.Yield();
        return Task.Yield();
    }
}
