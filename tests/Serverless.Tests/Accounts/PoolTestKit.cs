using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Serverless.Relay.Accounts;
using Serverless.Relay.Providers;

namespace Serverless.Tests.Accounts;

/// <summary>Health, scheduler and their fakes, on a fake clock.</summary>
internal sealed class PoolTestKit
{
    public PoolTestKit(AccountHealthOptions? options = null)
    {
        Events = new AccountEventLog(NullLogger<AccountEventLog>.Instance);
        Health = new AccountHealth(Options.Create(options ?? new AccountHealthOptions()), Events, Time);
        Scheduler = new AccountScheduler(Directory, Health, Groups);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public AccountEventLog Events { get; }

    public AccountHealth Health { get; }

    public FakeDirectory Directory { get; } = new();

    public FakeGroups Groups { get; } = new();

    public AccountScheduler Scheduler { get; }

    public static UpstreamAccount Account(string id, int priority = 0, int weight = 1, int? cap = null, ProviderKind provider = ProviderKind.OpenAI, string models = "m*") => new()
    {
        Id = id,
        Name = id,
        Provider = provider,
        Models = [models],
        Priority = priority,
        Weight = weight,
        MaxConcurrency = cap,
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    public async Task<string[]> OrderAsync(string model, string? sticky = null) =>
        (await Scheduler.PlanAsync(model, sticky, CancellationToken.None)).Candidates.Select(c => c.Account.Id).ToArray();

    internal sealed class FakeDirectory : IAccountDirectory
    {
        public List<UpstreamAccount> Accounts { get; } = [];

        public ValueTask<IReadOnlyList<UpstreamAccount>> GetAllAsync(CancellationToken cancellationToken) => new(Accounts);
    }

    internal sealed class FakeGroups : IModelGroupDirectory
    {
        public Dictionary<string, ModelGroup> Groups { get; } = new(StringComparer.OrdinalIgnoreCase);

        public ValueTask<ModelGroup?> FindAsync(string model, CancellationToken cancellationToken) => new(FindCached(model));

        public ModelGroup? FindCached(string model) => Groups.GetValueOrDefault(model);
    }
}
