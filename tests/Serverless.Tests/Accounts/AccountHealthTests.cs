using Serverless.Relay.Accounts;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Accounts;

public sealed class AccountHealthTests
{
    private readonly PoolTestKit _kit = new(new AccountHealthOptions { CircuitFailureThreshold = 3, CircuitBreakDuration = TimeSpan.FromSeconds(30) });

    [Fact]
    public void ReportFailure_RateLimitedWithRetryAfter_CoolsDownUntilThenRecovers()
    {
        var account = PoolTestKit.Account("a");

        _kit.Health.ReportFailure("a", FailureKind.RateLimited, "upstream answered 429", TimeSpan.FromSeconds(90));

        Assert.Equal(AccountStatus.CoolingDown, _kit.Health.StatusOf("a", out var until));
        Assert.Equal(_kit.Time.GetUtcNow().AddSeconds(90), until);
        Assert.Null(_kit.Health.TryAcquire(account));
        _kit.Time.Advance(TimeSpan.FromSeconds(89));
        Assert.Null(_kit.Health.TryAcquire(account));
        _kit.Time.Advance(TimeSpan.FromSeconds(1));
        using var lease = _kit.Health.TryAcquire(account);
        Assert.NotNull(lease);
        var raised = Assert.Single(_kit.Events.Recent);
        Assert.Equal(new AccountEvent("a", AccountStatus.CoolingDown, until!.Value.AddSeconds(-90), until, "upstream answered 429"), raised);
    }

    [Theory]
    [InlineData("RateLimited", 30)]
    [InlineData("Overloaded", 15)]
    public void ReportFailure_NoRetryAfter_UsesDefaultCooldown(string kind, int seconds)
    {
        _kit.Health.ReportFailure("a", Enum.Parse<FailureKind>(kind), "x");

        Assert.Equal(AccountStatus.CoolingDown, _kit.Health.StatusOf("a", out var until));
        Assert.Equal(_kit.Time.GetUtcNow().AddSeconds(seconds), until);
    }

    [Fact]
    public void ReportFailure_RetryAfterBeyondMax_IsCapped()
    {
        _kit.Health.ReportFailure("a", FailureKind.RateLimited, "x", TimeSpan.FromDays(3));

        _kit.Health.StatusOf("a", out var until);
        Assert.Equal(_kit.Time.GetUtcNow().AddMinutes(10), until);
    }

    [Fact]
    public void ReportFailure_RepeatedServerErrors_OpenCircuitThenOneProbeClosesIt()
    {
        var account = PoolTestKit.Account("a");
        _kit.Health.ReportFailure("a", FailureKind.ServerError, "500");
        _kit.Health.ReportFailure("a", FailureKind.Timeout, "timeout");
        Assert.Equal(AccountStatus.Available, _kit.Health.StatusOf("a", out _));

        _kit.Health.ReportFailure("a", FailureKind.Unreachable, "reset");

        Assert.Equal(AccountStatus.CircuitOpen, _kit.Health.StatusOf("a", out var until));
        Assert.Equal(_kit.Time.GetUtcNow().AddSeconds(30), until);
        Assert.Null(_kit.Health.TryAcquire(account));

        _kit.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(AccountStatus.HalfOpen, _kit.Health.StatusOf("a", out _));
        using var probe = _kit.Health.TryAcquire(account);
        Assert.True(probe!.IsProbe);
        Assert.Null(_kit.Health.TryAcquire(account)); // one probe at a time

        _kit.Health.ReportSuccess("a");

        Assert.Equal(AccountStatus.Available, _kit.Health.StatusOf("a", out _));
        Assert.Equal([AccountStatus.CircuitOpen, AccountStatus.Available], _kit.Events.Recent.Select(e => e.Status));
    }

    [Fact]
    public void ReportFailure_ProbeFails_ReopensForAnotherBreak()
    {
        for (var i = 0; i < 3; i++)
        {
            _kit.Health.ReportFailure("a", FailureKind.ServerError, "500");
        }

        _kit.Time.Advance(TimeSpan.FromSeconds(31));
        using (_kit.Health.TryAcquire(PoolTestKit.Account("a")))
        {
            _kit.Health.ReportFailure("a", FailureKind.ServerError, "500 again");
        }

        Assert.Equal(AccountStatus.CircuitOpen, _kit.Health.StatusOf("a", out var until));
        Assert.Equal(_kit.Time.GetUtcNow().AddSeconds(30), until);
    }

    [Fact]
    public void ReportSuccess_BetweenFailures_ResetsTheCount()
    {
        _kit.Health.ReportFailure("a", FailureKind.ServerError, "500");
        _kit.Health.ReportFailure("a", FailureKind.ServerError, "500");
        _kit.Health.ReportSuccess("a");
        _kit.Health.ReportFailure("a", FailureKind.ServerError, "500");

        Assert.Equal(AccountStatus.Available, _kit.Health.StatusOf("a", out _));
        var view = _kit.Health.View("a");
        Assert.Equal(4, view.RecentRequests);
        Assert.Equal(0.25, view.SuccessRate);
        Assert.Equal("500", view.LastError);
    }

    [Fact]
    public void ReportFailure_Unauthorized_DisablesWithReasonUntilReset()
    {
        _kit.Health.ReportFailure("a", FailureKind.Unauthorized, "upstream answered 401");
        _kit.Time.Advance(TimeSpan.FromDays(1));

        Assert.Equal(AccountStatus.Disabled, _kit.Health.StatusOf("a", out var until));
        Assert.Null(until);
        Assert.Equal("upstream answered 401", _kit.Health.View("a").LastError);

        _kit.Health.Reset("a");

        Assert.Equal(AccountStatus.Available, _kit.Health.StatusOf("a", out _));
    }

    [Fact]
    public async Task TryAcquire_ParallelLoad_NeverExceedsTheCap()
    {
        var account = PoolTestKit.Account("a", cap: 3);
        var inFlight = new PeakGauge();
        var granted = 0;

        await Parallel.ForAsync(0, 2000, async (_, ct) =>
        {
            using var lease = _kit.Health.TryAcquire(account);
            if (lease is null)
            {
                return;
            }

            Interlocked.Increment(ref granted);
            inFlight.Enter();
            await Task.Yield();
            inFlight.Leave();
        }).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.InRange(inFlight.Peak, 1, 3);
        Assert.True(granted >= 3);
        Assert.Equal(0, _kit.Health.InFlight("a"));
    }

    [Fact]
    public void Lease_DisposedTwice_ReleasesOnce()
    {
        var account = PoolTestKit.Account("a", cap: 1);
        var lease = _kit.Health.TryAcquire(account)!;
        using var other = _kit.Health.TryAcquire(PoolTestKit.Account("a", cap: 2));

        lease.Dispose();
        lease.Dispose();

        Assert.Equal(1, _kit.Health.InFlight("a"));
    }
}
