using System.Runtime.CompilerServices;

namespace Serverless.Relay.Storage.Batches;

/// <summary>
/// Cuts the usage writer's row work (rows made from records, batch bodies written) into slices that share the CPU with
/// the request path: after every <see cref="Rows"/> rows the work yields to the thread pool, whose global queue is
/// first in, first out, so a request's work queued meanwhile runs before the rest of the batch.
/// </summary>
/// <remarks>
/// Why: at concurrency 1 on one CPU, the slowest 1 % of requests were those that arrived while a round of about 200 rows
/// was written in one piece (about 1 ms of CPU), which made the relay's own p99 four times the bare forwarder's
/// (bench/ANALYSIS.md, "The usage writer in slices"). A slice of 16 rows is some tens of microseconds; a yield costs
/// about a microsecond. It yields the pool's queue, not the CPU: a request whose bytes arrive during a slice is queued
/// once the runtime's socket thread gets the CPU.
/// </remarks>
internal static class RowSlices
{
    public const int Rows = 16;

    /// <summary>Whether to yield now, after <paramref name="done"/> rows.</summary>
    public static bool Due(int done) => done % Rows == 0;

    /// <summary>
    /// Lets the threads waiting for this CPU run (a <c>sched_yield</c>), then puts the rest of the work behind what they
    /// queued meanwhile.
    /// </summary>
    /// <remarks>
    /// Why both: a pool yield alone never leaves the CPU, so the runtime's socket thread, woken by a request's bytes,
    /// waited until the scheduler preempted the writer, most often at the end of its round; the request was queued
    /// only then (bench/ANALYSIS.md, "The usage writer in slices"). With nothing else waiting for the CPU the thread
    /// yield returns at once.
    /// </remarks>
    public static YieldAwaitable Yield()
    {
        Thread.Yield();
        return Task.Yield();
    }
}
