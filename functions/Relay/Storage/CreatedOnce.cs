using System.Collections.Concurrent;

namespace Serverless.Relay.Storage;

/// <summary>
/// Storage resources (tables, blob containers, queues) created on first use, once per name and per instance, whoever
/// asks first; concurrent callers share the creation, and a failed one is not kept, so the next caller tries again.
/// NOTE: creation is lazy on purpose: a Functions custom handler must answer its first request quickly, and a storage
/// round trip per resource at start-up (or an unreachable account) would hold that up.
/// </summary>
internal sealed class CreatedOnce<T>(Func<string, Task<T>> create)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<T>>> _creations = new(StringComparer.Ordinal);

    /// <summary>The resource, created if need be; synchronous once it exists.</summary>
    public ValueTask<T> GetAsync(string name, CancellationToken cancellationToken)
    {
        if (_creations.TryGetValue(name, out var done) && done.IsValueCreated && done.Value.IsCompletedSuccessfully)
        {
            return new ValueTask<T>(done.Value.Result);
        }

        return new ValueTask<T>(WaitAsync(name, cancellationToken));
    }

    private async Task<T> WaitAsync(string name, CancellationToken cancellationToken)
    {
        var creation = _creations.GetOrAdd(name, n => new Lazy<Task<T>>(() => create(n)));
        try
        {
            // NOTE: the shared creation ignores the caller's token, so one cancelled caller cannot fail the others.
            return await creation.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (creation.Value.IsFaulted)
        {
            _creations.TryRemove(new KeyValuePair<string, Lazy<Task<T>>>(name, creation));
            throw;
        }
    }
}
