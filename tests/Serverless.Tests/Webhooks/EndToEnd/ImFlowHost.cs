using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Webhooks.EndToEnd;

/// <summary>
/// The system clock moved to today's noon (UTC): daily limits (<c>rpd</c>) then have half a day on either side, so a
/// test that counts requests in a window never straddles two. It runs at real speed, so timers, queue visibility
/// and signature ages behave as with the system clock.
/// </summary>
internal sealed class NoonClock : TimeProvider
{
    private readonly TimeSpan _offset;

    public NoonClock()
    {
        var now = TimeProvider.System.GetUtcNow();
        _offset = new DateTimeOffset(now.UtcDateTime.Date.AddHours(12), TimeSpan.Zero) - now;
    }

    public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow() + _offset;
}

/// <summary>
/// The handler in local mode, in process, shared by the tests of one class: the IM flow runs as deployed (webhook →
/// <c>im-inbound</c> → ImProcess → <c>im-outbound</c> → ImDeliver) over Azurite queues of its own prefix, polled
/// often so a scheduled message is picked up soon after it becomes visible. Each test brings its own upstream,
/// platform API and channel (<see cref="ImScenario"/>), so tests share no state but the process.
/// </summary>
public sealed class ImFlowHost(AzuriteFixture azurite) : IAsyncLifetime
{
    internal RelayHost Host { get; private set; } = null!;

    internal TimeProvider Clock { get; } = new NoonClock();

    public async ValueTask InitializeAsync()
    {
        Host = await RelayHost.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["LocalQueues:MaxPollInterval"] = "00:00:00.200",
            ["LocalQueues:RetryDelay"] = "00:00:01",
        }, Clock);
    }

    public async ValueTask DisposeAsync() => await Host.DisposeAsync();
}
