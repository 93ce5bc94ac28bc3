namespace Serverless.Relay.Storage;

/// <summary>
/// A value cached from storage and read again ahead of its expiry: during the last fifth of its time to live, the first
/// use starts one background read and is answered from the cache. A value in use is therefore renewed before it expires
/// and the request path never waits for storage (issue 11: each cache's read every few seconds made one request wait
/// milliseconds, or the hot-path deadline when storage was slow, and every request arriving meanwhile read too). Only a
/// value unused for a whole time to live expires and is read by the request that needs it. The expiry itself does not
/// move, so what is served is never older than the time to live, as before.
/// </summary>
internal sealed class RefreshAhead
{
    private int _running;

    /// <summary>From when a use of a value that expires at <paramref name="expiresAt"/>, <paramref name="ttl"/> after it was read, should refresh it (same units).</summary>
    public static long Due(long expiresAt, long ttl) => expiresAt - ttl / 5;

    /// <summary>True for the one caller that should start the refresh now (due, and none running); it then calls <see cref="RunAsync"/>.</summary>
    public bool TryStart(long now, long due) => now >= due && Volatile.Read(ref _running) == 0 && Interlocked.Exchange(ref _running, 1) == 0;

    /// <summary>
    /// Runs the refresh off the caller's thread; a failure goes to <paramref name="failed"/> (never to the request that
    /// started it). When it ends, read or failed, a later use may start another.
    /// </summary>
    public async Task RunAsync(Func<Task> refresh, Action<Exception> failed)
    {
        try
        {
            await Task.Yield();
            await refresh().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failed(e);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }
}
