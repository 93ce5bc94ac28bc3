namespace Serverless.Tests.Infrastructure;

/// <summary>How many of something are open at once, and the most that ever were; entered and left from many threads.</summary>
internal sealed class PeakGauge
{
    private int _current;
    private int _peak;

    public int Peak => Volatile.Read(ref _peak);

    public void Enter()
    {
        var now = Interlocked.Increment(ref _current);
        int seen;
        while (now > (seen = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, seen) != seen)
        {
        }
    }

    public void Leave() => Interlocked.Decrement(ref _current);
}
