using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;
using Xunit;

namespace Serverless.Tests.Accounts;

public sealed class AccountSchedulerTests
{
    private readonly PoolTestKit _kit = new();

    [Fact]
    public async Task PlanAsync_PriorityTiers_HigherTierFirst()
    {
        _kit.Directory.Accounts.AddRange([PoolTestKit.Account("low", priority: 0), PoolTestKit.Account("high", priority: 5), PoolTestKit.Account("other", models: "x*")]);

        Assert.Equal(["high", "low"], await _kit.OrderAsync("m1"));
    }

    [Fact]
    public async Task PlanAsync_InsideATier_LeastInFlightThenWeight()
    {
        _kit.Directory.Accounts.AddRange([PoolTestKit.Account("a"), PoolTestKit.Account("b", weight: 5), PoolTestKit.Account("c", weight: 2)]);
        using var busy = _kit.Health.TryAcquire(_kit.Directory.Accounts[1]);

        Assert.Equal(["c", "a", "b"], await _kit.OrderAsync("m1"));
    }

    [Fact]
    public async Task PlanAsync_EqualAccounts_RotateRoundRobin()
    {
        _kit.Directory.Accounts.AddRange([PoolTestKit.Account("a"), PoolTestKit.Account("b"), PoolTestKit.Account("c")]);

        var firsts = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            firsts.Add((await _kit.OrderAsync("m1"))[0]);
        }

        Assert.Equal(2, firsts.Count(f => f == "a"));
        Assert.Equal(2, firsts.Count(f => f == "b"));
        Assert.Equal(2, firsts.Count(f => f == "c"));
    }

    /// <summary>
    /// The rotation is kept per model name, which a client may vary within an account's pattern: the rotations kept
    /// stay within their bound however many names come, and equals still share the load after they are cleared.
    /// </summary>
    [Fact]
    public async Task PlanAsync_ManyDifferentModelNames_RotationsKeptWithinTheirBound_StillRoundRobin()
    {
        _kit.Directory.Accounts.AddRange([PoolTestKit.Account("a"), PoolTestKit.Account("b")]);

        for (var i = 0; i < AccountScheduler.MaxTurns + 10; i++)
        {
            await _kit.OrderAsync("m-" + i);
            Assert.InRange(_kit.Scheduler.Rotations, 1, AccountScheduler.MaxTurns);
        }

        var firsts = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            firsts.Add((await _kit.OrderAsync("m1"))[0]);
        }

        Assert.Equal(2, firsts.Count(f => f == "a"));
        Assert.Equal(2, firsts.Count(f => f == "b"));
    }

    [Fact]
    public async Task PlanAsync_MarkedOrAtCap_LeftOutAndExplained()
    {
        _kit.Directory.Accounts.AddRange([
            PoolTestKit.Account("cool", priority: 9), PoolTestKit.Account("open", priority: 8), PoolTestKit.Account("capped", priority: 7, cap: 1),
            PoolTestKit.Account("off", priority: 6), PoolTestKit.Account("ok")]);
        _kit.Health.ReportFailure("cool", FailureKind.RateLimited, "429", TimeSpan.FromSeconds(20));
        for (var i = 0; i < 3; i++)
        {
            _kit.Health.ReportFailure("open", FailureKind.ServerError, "500");
        }

        _kit.Health.ReportFailure("off", FailureKind.Unauthorized, "401");
        using var lease = _kit.Health.TryAcquire(_kit.Directory.Accounts[2]);

        var plan = await _kit.Scheduler.PlanAsync("m1", null, CancellationToken.None);

        Assert.Equal(["ok"], plan.Candidates.Select(c => c.Account.Id));
        Assert.Equal(5, plan.Matched);
        _kit.Directory.Accounts.RemoveAt(4);
        var none = await _kit.Scheduler.PlanAsync("m1", null, CancellationToken.None);
        var error = none.NothingAvailable("m1");
        Assert.Equal(ErrorKind.Unavailable, error.Kind);
        Assert.Equal(
            "No upstream account can serve 'm1' right now: 'cool' is cooling down until 2025-01-01T00:00:20.0000000+00:00; "
            + "'open' is circuit-open until 2025-01-01T00:00:30.0000000+00:00; 'capped' is at its concurrency cap; 'off' is disabled.",
            error.Message);
        Assert.NotNull(error.RetryAfter);
    }

    [Fact]
    public async Task PlanAsync_StickyAccountAvailable_GoesFirstEvenFromALowerTier()
    {
        _kit.Directory.Accounts.AddRange([PoolTestKit.Account("high", priority: 5), PoolTestKit.Account("low")]);

        Assert.Equal(["low", "high"], await _kit.OrderAsync("m1", sticky: "low"));

        _kit.Health.ReportFailure("low", FailureKind.Overloaded, "529");
        Assert.Equal(["high"], await _kit.OrderAsync("m1", sticky: "low"));
    }

    [Fact]
    public async Task PlanAsync_ModelGroup_TargetsInOrderWithUpstreamModelsThenFallback()
    {
        _kit.Directory.Accounts.AddRange([
            PoolTestKit.Account("oa", provider: ProviderKind.OpenAI, models: "gpt-*"),
            PoolTestKit.Account("an", provider: ProviderKind.Anthropic, models: "claude-*"),
            PoolTestKit.Account("local", provider: ProviderKind.Ollama, models: "llama*")]);
        _kit.Groups.Groups["smart"] = new ModelGroup
        {
            Name = "smart",
            Targets = [new ModelGroupTarget(null, ProviderKind.Anthropic, "claude-x"), new ModelGroupTarget("oa", null, "gpt-x")],
            Fallback = ["llama3"],
        };

        var plan = await _kit.Scheduler.PlanAsync("SMART", null, CancellationToken.None);

        Assert.Equal([("an", "claude-x"), ("oa", "gpt-x"), ("local", "llama3")], plan.Candidates.Select(c => (c.Account.Id, c.UpstreamModel)));

        _kit.Health.ReportFailure("an", FailureKind.RateLimited, "429");
        _kit.Health.ReportFailure("oa", FailureKind.RateLimited, "429");
        Assert.Equal(["local"], await _kit.OrderAsync("smart"));
    }

    [Fact]
    public async Task PlanAsync_LeastBusyGroup_IgnoresTargetOrder()
    {
        _kit.Directory.Accounts.AddRange([PoolTestKit.Account("a"), PoolTestKit.Account("b")]);
        _kit.Groups.Groups["g"] = new ModelGroup
        {
            Name = "g",
            Strategy = ModelGroupStrategy.LeastBusy,
            Targets = [new ModelGroupTarget("a", null, "m-a"), new ModelGroupTarget("b", null, "m-b")],
        };
        using var busy = _kit.Health.TryAcquire(_kit.Directory.Accounts[0]);

        Assert.Equal(["b", "a"], await _kit.OrderAsync("g"));
    }

    [Fact]
    public async Task PlanAsync_WeightedGroup_LeadsInProportionToWeight()
    {
        _kit.Directory.Accounts.AddRange([PoolTestKit.Account("heavy", weight: 9), PoolTestKit.Account("light", weight: 1)]);
        _kit.Groups.Groups["g"] = new ModelGroup
        {
            Name = "g",
            Strategy = ModelGroupStrategy.Weighted,
            Targets = [new ModelGroupTarget("heavy", null, "m"), new ModelGroupTarget("light", null, "m")],
        };

        var heavyFirst = 0;
        for (var i = 0; i < 1000; i++)
        {
            heavyFirst += (await _kit.OrderAsync("g"))[0] == "heavy" ? 1 : 0;
        }

        Assert.InRange(heavyFirst, 800, 980);
    }
}
