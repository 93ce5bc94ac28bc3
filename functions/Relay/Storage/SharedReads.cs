using System.Collections.Concurrent;

namespace Serverless.Relay.Storage;

/// <summary>
/// One read per key at a time: a caller that misses a cached value while a read of it is under way waits for that read
/// instead of starting its own.
/// </summary>
/// <remarks>
/// NOTE: why. <see cref="RefreshAhead"/> renews only values in use, so a value unused for a whole time to live expires,
/// and the first burst after an idle spell found its session, key and price entries expired: each of its requests read
/// each row, 256 reads of one row at once, and the reads that storage could not answer within the hot-path deadline
/// held their requests for half a second (bench/ANALYSIS.md, "The c=256 tail"). The shared read runs without any
/// caller's cancellation (the hot-path deadline bounds it); each caller stops waiting when its own request ends.
/// </remarks>
internal sealed class SharedReads<TKey, TValue>(IEqualityComparer<TKey>? comparer = null) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Task<TValue>> _running = new(comparer);

    public Task<TValue> ReadAsync(TKey key, Func<TKey, Task<TValue>> read, CancellationToken cancellationToken)
    {
        if (!_running.TryGetValue(key, out var shared))
        {
            var started = new TaskCompletionSource<TValue>(TaskCreationOptions.RunContinuationsAsynchronously);
            shared = _running.GetOrAdd(key, started.Task);
            if (shared == started.Task)
            {
                _ = RunAsync(key, read, started);
            }
        }

        return shared.WaitAsync(cancellationToken);
    }

    private async Task RunAsync(TKey key, Func<TKey, Task<TValue>> read, TaskCompletionSource<TValue> started)
    {
        try
        {
            started.SetResult(await read(key).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            started.SetException(e);
        }
        finally
        {
            _running.TryRemove(new KeyValuePair<TKey, Task<TValue>>(key, started.Task));
        }
    }
}
