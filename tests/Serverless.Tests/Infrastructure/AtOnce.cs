using Xunit;

namespace Serverless.Tests.Infrastructure;

/// <summary>Tells whether a call answered without waiting (its ValueTask already complete when returned), with its result.</summary>
internal static class AtOnce
{
    public static async Task<(bool AtOnce, T Value)> ProbeAsync<T>(ValueTask<T> pending)
    {
        var atOnce = pending.IsCompletedSuccessfully;
        return (atOnce, await pending);
    }

    /// <summary>
    /// Calls until <paramref name="done"/> holds or <paramref name="timeout"/> passes (real time), asserting that every
    /// call answered at once; returns the last answer. For a cache renewed in the background while it keeps serving.
    /// </summary>
    public static async Task<T> UntilAsync<T>(Func<ValueTask<T>> call, Func<T, bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var (atOnce, value) = await ProbeAsync(call());
            Assert.True(atOnce, "a cached value waited for storage");
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(20, cancellationToken);
        }
    }
}
