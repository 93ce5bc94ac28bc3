using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Serverless.Webhooks.Messaging;
using Xunit;

namespace Serverless.Tests.Messaging;

/// <summary>Local mode's stand-in for Service Bus duplicate detection, on Azurite with a fake clock.</summary>
public sealed class LocalDuplicateDetectionTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private (ServiceProvider Services, LocalDuplicateDetection Detection, FakeTimeProvider Time) Create()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var services = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("dedup")), time);
        return (services, new LocalDuplicateDetection(services.GetRequiredService<RelayTables>(), time), time);
    }

    [Fact]
    public async Task TryClaim_SameIdWithinTheWindow_RefusedAfterItOtherQueuesAndLaterAccepted()
    {
        var (services, detection, time) = Create();
        using var _ = services;

        Assert.True(await detection.TryClaimAsync("im-inbound", "tg:1/2#3?", Ct));
        Assert.False(await detection.TryClaimAsync("im-inbound", "tg:1/2#3?", Ct));
        Assert.True(await detection.TryClaimAsync("im-outbound", "tg:1/2#3?", Ct)); // per queue, as on Service Bus
        time.Advance(LocalDuplicateDetection.Window - TimeSpan.FromSeconds(1));
        Assert.False(await detection.TryClaimAsync("im-inbound", "tg:1/2#3?", Ct));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await detection.TryClaimAsync("im-inbound", "tg:1/2#3?", Ct));
        Assert.False(await detection.TryClaimAsync("im-inbound", "tg:1/2#3?", Ct)); // the window starts again
    }

    [Fact]
    public async Task Release_AfterAFailedSend_TheRetryIsNotADuplicate()
    {
        var (services, detection, _) = Create();
        using var __ = services;

        Assert.True(await detection.TryClaimAsync("im-inbound", "m-1", Ct));
        await detection.ReleaseAsync("im-inbound", "m-1", Ct);

        Assert.True(await detection.TryClaimAsync("im-inbound", "m-1", Ct));
    }

    [Fact]
    public async Task TryClaim_ConcurrentSendsOfOneId_ExactlyOneGoes()
    {
        var (services, detection, _) = Create();
        using var __ = services;

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => detection.TryClaimAsync("im-inbound", "m-race", Ct)));

        Assert.Single(claims, c => c);
    }
}
