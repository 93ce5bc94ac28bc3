using System.Collections.Concurrent;

namespace Serverless.Webhooks.Messaging;

/// <summary>
/// Lets the local trigger sleep between empty polls yet start at once when this process sends: the sender signals the
/// queue, and a poller waiting out its idle back-off wakes. A signal given before the wait is kept, never lost.
/// Messages sent by another process are found by the next poll (at most the idle back-off later).
/// </summary>
internal sealed class LocalQueueWakeup
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _signals = new(StringComparer.Ordinal);

    public void Notify(string queue)
    {
        try
        {
            Signal(queue).Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one wake-up serves any number of sends.
        }
    }

    /// <returns>True when woken by a send, false when the delay ran out.</returns>
    public Task<bool> WaitAsync(string queue, TimeSpan delay, CancellationToken cancellationToken) =>
        Signal(queue).WaitAsync(delay, cancellationToken);

    private SemaphoreSlim Signal(string queue) => _signals.GetOrAdd(queue, static _ => new SemaphoreSlim(0, 1));
}
