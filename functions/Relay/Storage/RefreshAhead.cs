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

    /// <summary>The timestamp from which a use of a value read at <paramref name="readAt"/> should start its refresh.</summary>
    public static long Due(long readAt, long ttlTicks) => readAt + ttlTicks - ttlTicks / 5;

    /// <summary>True for the one caller that should start the refresh now (due, and none running).</summary>
    public bool TryStart(long now, long due) => now >= due && Volatile.Read(ref _running) == 0 && Interlocked.Exchange(ref _running, 1) == 0;

    /// <summary>The refresh has ended, read or failed; a later use may start another.</summary>
    public void Done() => Volatile.Write(ref _running, 0);
}
