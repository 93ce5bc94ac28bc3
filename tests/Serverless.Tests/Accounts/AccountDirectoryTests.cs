using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Accounts;
using Serverless.Relay.OAuth;
using Serverless.Relay.Providers;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Accounts;

public sealed class AccountDirectoryTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private readonly ManualTimeProvider _time = new();
    private ServiceProvider? _services;

    public void Dispose() => _services?.Dispose();

    private ServiceProvider Services => _services ??= StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("accounts")), _time);

    private AccountStore Store => Services.GetRequiredService<AccountStore>();

    private AccountDirectory Directory => Services.GetRequiredService<AccountDirectory>();

    private async Task<UpstreamAccount> CreateAsync(string name, int priority, string? apiKey, CancellationToken ct)
    {
        var account = new UpstreamAccount
        {
            Id = StorageIds.New("acct"),
            Name = name,
            Provider = ProviderKind.OpenAI,
            Models = ["gpt-*"],
            Priority = priority,
            CreatedAt = _time.GetUtcNow(),
        };
        await Store.CreateAsync(new AccountRow(account, apiKey is null ? null : Store.ProtectApiKey(account.Id, apiKey)), ct).WaitAsync(Timeout, ct);
        return account;
    }

    [Fact]
    public async Task GetAllAsync_StoredAccounts_DecryptedAndSortedByPriority()
    {
        var ct = TestContext.Current.CancellationToken;
        var low = await CreateAsync("low", 0, "sk-low", ct);
        var high = await CreateAsync("high", 10, "sk-high", ct);
        var keyless = await CreateAsync("keyless", 5, null, ct);

        var all = await Directory.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct);

        Assert.Equal([high.Id, keyless.Id, low.Id], all.Select(a => a.Id));
        Assert.Equal(["sk-high", null, "sk-low"], all.Select(a => a.ApiKey));
    }

    [Fact]
    public async Task GetAllAsync_WithinTtl_ServesSnapshotSynchronously()
    {
        var ct = TestContext.Current.CancellationToken;
        await CreateAsync("first", 0, "sk-1", ct);
        var first = await Directory.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct);
        await CreateAsync("second", 0, "sk-2", ct);

        var cached = Directory.GetAllAsync(ct);
        _time.Advance(AccountDirectory.Ttl);
        var refreshed = await Directory.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct);

        Assert.True(cached.IsCompletedSuccessfully);
        Assert.Same(first, await cached);
        Assert.Equal(2, refreshed.Count);
    }

    [Fact]
    public async Task GetAllAsync_InUseNearExpiry_IsRenewedInTheBackgroundWhileEveryCallAnswersAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await CreateAsync("first", 0, "sk-1", ct);
        await Directory.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct);
        await CreateAsync("second", 0, "sk-2", ct);

        _time.Advance(AccountDirectory.Ttl * 0.9);
        var seen = await AtOnce.UntilAsync(() => Directory.GetAllAsync(ct), all => all.Count == 2, Timeout, ct);
        _time.Advance(AccountDirectory.Ttl * 0.5); // past the first snapshot's expiry, within the renewed one's
        var later = await AtOnce.ProbeAsync(Directory.GetAllAsync(ct));

        Assert.Equal(2, seen.Count);
        Assert.True(later.AtOnce);
        Assert.Equal(2, later.Value.Count);
    }

    [Fact]
    public async Task GetAllAsync_ConcurrentCallersAfterExpiry_ShareOneRefresh()
    {
        var ct = TestContext.Current.CancellationToken;
        await CreateAsync("only", 0, "sk-1", ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Directory.GetAllAsync(ct).AsTask())).WaitAsync(Timeout, ct);

        Assert.All(results, r => Assert.Same(results[0], r));
    }

    [Fact]
    public async Task Invalidate_AfterChange_NextCallReadsStorage()
    {
        var ct = TestContext.Current.CancellationToken;
        await CreateAsync("first", 0, "sk-1", ct);
        await Directory.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct);
        await CreateAsync("second", 0, "sk-2", ct);

        Directory.Invalidate();
        var all = await Directory.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct);

        Assert.Equal(2, all.Count);
    }

    [Fact]
    public async Task GetAllAsync_UnreadableSecret_SkipsOnlyThatAccount()
    {
        var ct = TestContext.Current.CancellationToken;
        var good = await CreateAsync("good", 0, "sk-good", ct);
        var moved = await CreateAsync("moved", 0, "sk-moved", ct);
        var unknownKid = await CreateAsync("unknown-kid", 0, "sk-x", ct);
        var table = await Services.GetRequiredService<RelayTables>().GetAsync(RelayTables.Accounts, ct).AsTask().WaitAsync(Timeout, ct);
        // A ciphertext copied from another row, and one written under a kid that is no longer configured.
        await table.UpdateEntityAsync(new TableEntity("account", moved.Id) { ["ApiKey"] = Store.ProtectApiKey(good.Id, "sk-good") }, Azure.ETag.All, TableUpdateMode.Merge, ct).WaitAsync(Timeout, ct);
        await table.UpdateEntityAsync(new TableEntity("account", unknownKid.Id) { ["ApiKey"] = "gone:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, Azure.ETag.All, TableUpdateMode.Merge, ct).WaitAsync(Timeout, ct);

        var all = await Directory.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct);

        Assert.Equal([good.Id], all.Select(a => a.Id));
    }

    [Fact]
    public async Task GetAllAsync_AccountDeleted_ItsHealthAndAccessTokenForgottenOthersKept()
    {
        var ct = TestContext.Current.CancellationToken;
        var health = Services.GetRequiredService<AccountHealth>();
        var tokens = Services.GetRequiredService<OAuthTokens>();
        var kept = await CreateOAuthAsync("kept", "at-kept", ct);
        var deleted = await CreateOAuthAsync("deleted", "at-deleted", ct);
        var unreadable = await CreateAsync("unreadable", 0, "sk-x", ct);
        foreach (var account in new[] { kept, deleted })
        {
            Assert.Equal("at-" + account.Name, (await tokens.GetAccessTokenAsync(account, ct).AsTask().WaitAsync(Timeout, ct)).AccessToken);
            health.ReportFailure(account.Id, FailureKind.RateLimited, "429", TimeSpan.FromMinutes(5));
        }

        health.ReportFailure(unreadable.Id, FailureKind.RateLimited, "429", TimeSpan.FromMinutes(5));
        var table = await Services.GetRequiredService<RelayTables>().GetAsync(RelayTables.Accounts, ct).AsTask().WaitAsync(Timeout, ct);
        await table.UpdateEntityAsync(new TableEntity("account", unreadable.Id) { ["ApiKey"] = "gone:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, Azure.ETag.All, TableUpdateMode.Merge, ct).WaitAsync(Timeout, ct);
        await Directory.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct);
        Assert.Equal((3, 2), (health.Tracked, tokens.Cached));

        Assert.True(await Store.DeleteAsync(deleted.Id, ct).WaitAsync(Timeout, ct));
        Directory.Invalidate();
        var all = await Directory.GetAllAsync(ct).AsTask().WaitAsync(Timeout, ct);

        Assert.Equal([kept.Id], all.Select(a => a.Id));
        // The account skipped for its secret still exists: its marks stay for when the secret is readable again.
        Assert.Equal((2, 1), (health.Tracked, tokens.Cached));
        Assert.Equal(AccountStatus.CoolingDown, health.StatusOf(kept.Id, out _));
        Assert.Equal(AccountStatus.CoolingDown, health.StatusOf(unreadable.Id, out _));
        Assert.Equal(AccountStatus.Available, health.StatusOf(deleted.Id, out _));
    }

    private async Task<UpstreamAccount> CreateOAuthAsync(string name, string accessToken, CancellationToken ct)
    {
        var account = new UpstreamAccount
        {
            Id = StorageIds.New("acct"),
            Name = name,
            Provider = ProviderKind.Anthropic,
            Models = ["claude-*"],
            CreatedAt = _time.GetUtcNow(),
        };
        var credentials = new OAuthCredentials(accessToken, "rt-" + name, null, _time.GetUtcNow().AddHours(8), new OAuthSettings("http://127.0.0.1:9/token", "client", TokenRequestFormat.Json));
        return (await Store.CreateAsync(account, null, credentials, ct).WaitAsync(Timeout, ct)).Account;
    }

    [Fact]
    public async Task CreateAsync_ApiKey_StoredEncryptedUnderCurrentKid()
    {
        var ct = TestContext.Current.CancellationToken;
        var account = await CreateAsync("enc", 0, "sk-plaintext-upstream", ct);
        var table = await Services.GetRequiredService<RelayTables>().GetAsync(RelayTables.Accounts, ct).AsTask().WaitAsync(Timeout, ct);

        var raw = (await table.GetEntityAsync<TableEntity>("account", account.Id, cancellationToken: ct).WaitAsync(Timeout, ct)).Value;

        Assert.StartsWith("k1:", raw.GetString("ApiKey"), StringComparison.Ordinal);
        Assert.All(raw.Select(kv => kv.Value), v => Assert.DoesNotContain("sk-plaintext-upstream", v?.ToString() ?? "", StringComparison.Ordinal));
    }
}
