using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Formats;
using Serverless.Relay.Keys;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Keys;

public sealed class ClientKeyStoreTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private readonly ServiceProvider _services = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("keystore")));

    public void Dispose() => _services.Dispose();

    private ClientKeyStore Store => _services.GetRequiredService<ClientKeyStore>();

    private static (ClientKey Key, string Plaintext, string Hash) NewKey(string name = "app")
    {
        var (plaintext, hash, hint) = ClientKeySecret.Generate();
        var key = new ClientKey
        {
            Id = StorageIds.New("key"),
            Name = name,
            Owner = "team-a",
            Models = ["gpt-4o*"],
            CreatedAt = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero),
            Hint = hint,
        };
        return (key, plaintext, hash);
    }

    [Fact]
    public async Task CreateAsync_NewKey_ReadableByIdAndByHash()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, _, hash) = NewKey();

        await Store.CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);

        Assert.Equal(key, await Store.GetIfExistsAsync(key.Id, ct).WaitAsync(Timeout, ct), KeyComparer.Instance);
        Assert.Equal(key, await Store.FindByHashAsync(hash, ct).WaitAsync(Timeout, ct), KeyComparer.Instance);
        Assert.Contains(await Store.ListAsync(ct).WaitAsync(Timeout, ct), k => k.Id == key.Id);
    }

    [Fact]
    public async Task CreateAsync_NewKey_StoresNoPlaintext()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, plaintext, hash) = NewKey();
        await Store.CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);

        var table = await _services.GetRequiredService<RelayTables>().GetAsync(RelayTables.ClientKeys, ct).AsTask().WaitAsync(Timeout, ct);
        var rows = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(cancellationToken: ct))
        {
            rows.Add(entity);
        }

        Assert.Equal(2, rows.Count);
        Assert.Equal(["hash:" + hash, "id:" + key.Id], rows.Select(r => r.RowKey).Order(StringComparer.Ordinal));
        Assert.All(rows, row => Assert.All(row.Select(kv => kv.Value), v => Assert.DoesNotContain(plaintext[9..], v?.ToString() ?? "", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task UpdateAsync_ExistingKey_ChangesBothRows()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, _, hash) = NewKey();
        await Store.CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);

        var updated = await Store.UpdateAsync(key.Id, k => k with { Enabled = false, Name = "renamed" }, ct).WaitAsync(Timeout, ct);

        Assert.True(updated.IsSuccess);
        var byHash = await Store.FindByHashAsync(hash, ct).WaitAsync(Timeout, ct);
        var byId = await Store.GetIfExistsAsync(key.Id, ct).WaitAsync(Timeout, ct);
        Assert.False(byHash!.Enabled);
        Assert.Equal("renamed", byHash.Name);
        Assert.Equal(byHash, byId, KeyComparer.Instance);
    }

    [Fact]
    public async Task UpdateAsync_UnknownId_NotFoundError()
    {
        var ct = TestContext.Current.CancellationToken;

        var updated = await Store.UpdateAsync("key_00000000000000ff", k => k, ct).WaitAsync(Timeout, ct);

        Assert.Equal(ErrorKind.NotFound, updated.Error!.Kind);
        Assert.Equal("no key has id 'key_00000000000000ff'", updated.Error.Message);
    }

    [Fact]
    public async Task DeleteAsync_ExistingKey_RemovesBothRows()
    {
        var ct = TestContext.Current.CancellationToken;
        var (key, _, hash) = NewKey();
        await Store.CreateAsync(key, hash, ct).WaitAsync(Timeout, ct);

        Assert.True(await Store.DeleteAsync(key.Id, ct).WaitAsync(Timeout, ct));

        Assert.Null(await Store.GetIfExistsAsync(key.Id, ct).WaitAsync(Timeout, ct));
        Assert.Null(await Store.FindByHashAsync(hash, ct).WaitAsync(Timeout, ct));
        Assert.False(await Store.DeleteAsync(key.Id, ct).WaitAsync(Timeout, ct));
    }

    /// <summary>Records compare lists by reference; compare by content.</summary>
    internal sealed class KeyComparer : IEqualityComparer<ClientKey?>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(ClientKey? x, ClientKey? y) =>
            x is not null && y is not null && x with { Models = [] } == y with { Models = [] } && x.Models.SequenceEqual(y.Models);

        public int GetHashCode(ClientKey? obj) => obj?.Id.GetHashCode(StringComparison.Ordinal) ?? 0;
    }
}
