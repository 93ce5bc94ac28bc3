using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Accounts;
using Serverless.Relay.Providers;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Sessions;
using Xunit;

namespace Serverless.Tests.Storage;

/// <summary>
/// The two snapshots of a whole table on the request path (<see cref="AccountDirectory"/>, <see cref="ModelGroupDirectory"/>,
/// both a <see cref="StorageSnapshot{T}"/>) with storage misbehaving: Azurite behind <see cref="StorageProxy"/>, told to
/// hang; the snapshots' clock is a manual one, the hot-path deadline real time.
/// </summary>
public sealed class StorageSnapshotTests(AzuriteFixture azurite) : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private const int Burst = 50;

    private readonly ManualTimeProvider _time = new();
    private readonly StorageProxy _proxy = StorageProxy.Start(azurite.TablePort);
    private readonly RecordedLogs _logs = new();
    private ServiceProvider? _services;

    public async ValueTask DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await _proxy.DisposeAsync();
    }

    private ServiceProvider Services
    {
        get
        {
            if (_services is null)
            {
                var settings = StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("snap"));
                settings["AzureWebJobsStorage"] = _proxy.Through(azurite.ConnectionString);
                settings["Storage:HotPathTimeout"] = "00:00:00.500";
                _services = StorageTestKit.Services(settings, _time);
            }

            return _services;
        }
    }

    private HotPathStorage HotPath => Services.GetRequiredService<HotPathStorage>();

    private ModelGroupStore GroupStore => new(Services.GetRequiredService<RelayTables>());

    private ModelGroupDirectory Groups() => new(GroupStore, HotPath, _time, _logs.For<ModelGroupDirectory>());

    private AccountDirectory Accounts() => new(Services.GetRequiredService<AccountStore>(), HotPath, _time, _logs.For<AccountDirectory>(), []);

    private int Warnings<T>() => _logs.Lines.Count(l => l.Category == typeof(T).FullName && l.Level >= LogLevel.Warning);

    private static ModelGroup Group(string name, string upstreamModel) => new()
    {
        Name = name,
        Targets = [new ModelGroupTarget(null, ProviderKind.OpenAI, upstreamModel)],
    };

    /// <summary>
    /// Before, a model group's reload had no deadline: with storage hanging, every request after the snapshot expired
    /// waited for the SDK to give up, and each then logged a warning.
    /// </summary>
    [Fact]
    public async Task ModelGroups_StorageHangsAfterExpiry_BurstServedStaleWithinTheDeadlineWithOneWarning()
    {
        var ct = TestContext.Current.CancellationToken;
        await GroupStore.PutAsync(Group("smart", "gpt-4o"), ct).WaitAsync(Timeout, ct);
        var groups = Groups();
        Assert.NotNull(await groups.FindAsync("smart", ct).AsTask().WaitAsync(Timeout, ct));

        _proxy.Mode = StorageMode.Hang;
        _time.Advance(AccountDirectory.Ttl);
        var started = DateTime.UtcNow;
        var burst = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => groups.FindAsync("smart", ct).AsTask())).WaitAsync(Timeout, ct);
        var waited = DateTime.UtcNow - started;
        var next = await AtOnce.ProbeAsync(groups.FindAsync("smart", ct));

        Assert.All(burst, group => Assert.Equal("gpt-4o", group?.Targets[0].UpstreamModel));
        Assert.True(waited < TimeSpan.FromSeconds(5), $"the burst waited {waited} for a hanging storage");
        Assert.Equal(1, Warnings<ModelGroupDirectory>());
        Assert.True(next.AtOnce, "a request within the outage back-off waited for storage");
        Assert.Equal("gpt-4o", next.Value?.Targets[0].UpstreamModel);
    }

    /// <summary>Before, every request that waited for the failed refresh logged the failure with its stack trace.</summary>
    [Fact]
    public async Task Accounts_StorageHangsAfterExpiry_BurstServedStaleWithOneWarning()
    {
        var ct = TestContext.Current.CancellationToken;
        var account = new UpstreamAccount { Id = StorageIds.New("acct"), Name = "only", Provider = ProviderKind.OpenAI, Models = ["gpt-*"], CreatedAt = _time.GetUtcNow() };
        await Services.GetRequiredService<AccountStore>().CreateAsync(new AccountRow(account, null), ct).WaitAsync(Timeout, ct);
        var accounts = Accounts();
        Assert.Single(await accounts.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct));

        _proxy.Mode = StorageMode.Hang;
        _time.Advance(AccountDirectory.Ttl);
        var burst = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => accounts.GetAllAsync(ct).AsTask())).WaitAsync(Timeout, ct);

        Assert.All(burst, all => Assert.Equal(account.Id, Assert.Single(all).Id));
        Assert.Equal(1, Warnings<AccountDirectory>());
    }

    [Fact]
    public async Task ModelGroups_InUseNearExpiry_RenewedInTheBackgroundWhileEveryCallAnswersAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await GroupStore.PutAsync(Group("smart", "gpt-4o"), ct).WaitAsync(Timeout, ct);
        var groups = Groups();
        await groups.FindAsync("smart", ct).AsTask().WaitAsync(Timeout, ct);
        await GroupStore.PutAsync(Group("smart", "gpt-4.1"), ct).WaitAsync(Timeout, ct);

        _time.Advance(AccountDirectory.Ttl * 0.9);
        var seen = await AtOnce.UntilAsync(() => groups.FindAsync("smart", ct), g => g?.Targets[0].UpstreamModel == "gpt-4.1", Timeout, ct);
        _time.Advance(AccountDirectory.Ttl * 0.5); // past the first snapshot's expiry, within the renewed one's
        var later = await AtOnce.ProbeAsync(groups.FindAsync("smart", ct));

        Assert.Equal("gpt-4.1", seen?.Targets[0].UpstreamModel);
        Assert.True(later.AtOnce, "a group in use waited for storage after the first snapshot expired");
        Assert.Equal("gpt-4.1", later.Value?.Targets[0].UpstreamModel);
    }

    [Fact]
    public async Task ModelGroups_ChangedAndInvalidated_NextCallReadsTheChangeWithinTheTtl()
    {
        var ct = TestContext.Current.CancellationToken;
        await GroupStore.PutAsync(Group("smart", "gpt-4o"), ct).WaitAsync(Timeout, ct);
        var groups = Groups();
        var before = await groups.FindAsync("smart", ct).AsTask().WaitAsync(Timeout, ct);
        await GroupStore.PutAsync(Group("smart", "gpt-4.1"), ct).WaitAsync(Timeout, ct);

        var cached = await groups.FindAsync("smart", ct).AsTask().WaitAsync(Timeout, ct);
        groups.Invalidate();
        var after = await groups.FindAsync("smart", ct).AsTask().WaitAsync(Timeout, ct);

        Assert.Equal("gpt-4o", before?.Targets[0].UpstreamModel);
        Assert.Equal("gpt-4o", cached?.Targets[0].UpstreamModel);
        Assert.Equal("gpt-4.1", after?.Targets[0].UpstreamModel);
    }
}
