using Serverless.Relay.Accounts;
using Serverless.Relay.Providers;
using Serverless.Relay.Relaying;
using Xunit;

namespace Serverless.Tests.Relaying;

public sealed class AccountRouterTests
{
    private sealed class FixedDirectory(params UpstreamAccount[] accounts) : IAccountDirectory
    {
        public ValueTask<IReadOnlyList<UpstreamAccount>> GetAllAsync(CancellationToken cancellationToken) => new(accounts);
    }

    private static UpstreamAccount Account(string id, int priority, bool enabled = true, params string[] models) => new()
    {
        Id = id,
        Name = id,
        Provider = ProviderKind.OpenAI,
        Models = models.Length == 0 ? ["gpt-*"] : models,
        Priority = priority,
        Enabled = enabled,
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public async Task Candidates_HighestPriorityFirst_DisabledAndNonMatchingLeftOut()
    {
        var router = new AccountRouter(new FixedDirectory(
            Account("low", 1),
            Account("high", 10),
            Account("off", 99, enabled: false),
            Account("claude", 50, true, "claude-*")));

        var candidates = await router.CandidatesAsync("gpt-4o", TestContext.Current.CancellationToken);

        Assert.Equal(["high", "low"], candidates.Select(a => a.Id));
    }

    [Fact]
    public async Task Candidates_EqualPriority_RotateRoundRobinLowerTierStaysLast()
    {
        var router = new AccountRouter(new FixedDirectory(Account("a", 5), Account("b", 5), Account("c", 5), Account("backup", 0)));
        var ct = TestContext.Current.CancellationToken;

        var firsts = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var candidates = await router.CandidatesAsync("gpt-4o", ct);
            Assert.Equal(4, candidates.Count);
            Assert.Equal("backup", candidates[^1].Id);
            Assert.Equal(3, candidates.Take(3).Select(a => a.Id).Distinct().Count());
            firsts.Add(candidates[0].Id);
        }

        // Each of the three equals leads exactly twice in six calls.
        Assert.All(firsts.GroupBy(id => id), group => Assert.Equal(2, group.Count()));
    }

    [Fact]
    public async Task Candidates_NothingServesTheModel_Empty()
    {
        var router = new AccountRouter(new FixedDirectory(Account("a", 1, true, "claude-*")));

        Assert.Empty(await router.CandidatesAsync("gemini-2.5-pro", TestContext.Current.CancellationToken));
    }
}
