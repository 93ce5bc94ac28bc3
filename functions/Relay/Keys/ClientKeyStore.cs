using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Audit;
using Serverless.Relay.Formats;
using Serverless.Relay.Limits;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Keys;

/// <summary>
/// The <c>{prefix}clientkeys</c> table. Every key is two entities in one partition, written together in one
/// transaction: RK <c>id:&lt;id&gt;</c> (admin reads by id) and RK <c>hash:&lt;sha256 hex&gt;</c> (authentication reads
/// by hash). Both carry the whole record, so each lookup is a single point read.
/// NOTE: one partition for all keys keeps the pair transactional without deriving ids from hashes; reads are cached
/// per instance (5 s), so the partition's ~2,000 operations/s target is far away.
/// </summary>
internal sealed class ClientKeyStore(RelayTables tables)
{
    internal const string PartitionKey = "clientkey";
    private const string IdPrefix = "id:";
    private const string HashPrefix = "hash:";
    private const int MaxUpdateAttempts = 5;

    public static string IdRowKey(string id) => IdPrefix + id;

    public static string HashRowKey(string hash) => HashPrefix + hash;

    public async Task CreateAsync(ClientKey key, string keyHash, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ClientKeys, cancellationToken);
        await table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.Add, ToEntity(key, IdRowKey(key.Id), keyHash)),
                new TableTransactionAction(TableTransactionActionType.Add, ToEntity(key, HashRowKey(keyHash), keyHash)),
            ],
            cancellationToken);
    }

    /// <summary>The key with this id, or null.</summary>
    public async Task<ClientKey?> GetIfExistsAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ClientKeys, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, IdRowKey(id), cancellationToken: cancellationToken);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    /// <summary>The key whose SHA-256 is <paramref name="keyHash"/>, or null: one point read.</summary>
    public async Task<ClientKey?> FindByHashAsync(string keyHash, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ClientKeys, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, HashRowKey(keyHash), cancellationToken: cancellationToken);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    public async Task<IReadOnlyList<ClientKey>> ListAsync(CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ClientKeys, cancellationToken);
        // 'id;' is the first string after every 'id:…' (';' follows ':'), so this range is exactly the id rows.
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PartitionKey} and RowKey ge {IdPrefix} and RowKey lt {"id;"}");
        var keys = new List<ClientKey>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            keys.Add(FromEntity(entity));
        }

        keys.Sort((a, b) => a.CreatedAt.CompareTo(b.CreatedAt));
        return keys;
    }

    /// <summary>
    /// Read, change, write both rows in one transaction, conditional on the id row's ETag; retried when another writer
    /// got there first. <paramref name="change"/> may refuse with an error. Unknown id: a <see cref="ErrorKind.NotFound"/> error.
    /// </summary>
    public async Task<Result<ClientKey>> UpdateAsync(string id, Func<ClientKey, Result<ClientKey>> change, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ClientKeys, cancellationToken);
        return await ETagUpdate.RunAsync<Result<ClientKey>>(table, PartitionKey, IdRowKey(id), async (entity, token) =>
        {
            if (entity is null)
            {
                return ETagWrite.Done<Result<ClientKey>>(NotFound(id));
            }

            var changed = change(FromEntity(entity));
            if (!changed.IsSuccess)
            {
                return ETagWrite.Done(changed);
            }

            var hash = entity.GetString("KeyHash");
            var updated = changed.Value! with { Id = id };
            try
            {
                await table.SubmitTransactionAsync(
                    [
                        new TableTransactionAction(TableTransactionActionType.UpdateReplace, ToEntity(updated, IdRowKey(id), hash), entity.ETag),
                        new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(updated, HashRowKey(hash), hash)),
                    ],
                    token);
                return ETagWrite.Done<Result<ClientKey>>(updated);
            }
            catch (RequestFailedException e) when (e.Status is 404)
            {
                // Deleted between our read and write: read again, which finds it gone.
                return default;
            }
        }, cancellationToken, MaxUpdateAttempts);
    }

    /// <summary>Deletes both rows; false when no key has this id.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ClientKeys, cancellationToken);
        var current = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, IdRowKey(id), cancellationToken: cancellationToken);
        if (!current.HasValue)
        {
            return false;
        }

        var hash = current.Value!.GetString("KeyHash");
        try
        {
            await table.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(PartitionKey, HashRowKey(hash)), ETag.All),
                    new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(PartitionKey, IdRowKey(id)), ETag.All),
                ],
                cancellationToken);
        }
        catch (TableTransactionFailedException e) when (e.Status == 404)
        {
            // One of the pair is already gone (a concurrent delete): remove whatever is left, one by one.
            foreach (var rowKey in new[] { HashRowKey(hash), IdRowKey(id) })
            {
                try
                {
                    await table.DeleteEntityAsync(PartitionKey, rowKey, ETag.All, cancellationToken);
                }
                catch (RequestFailedException gone) when (gone.Status == 404)
                {
                }
            }
        }

        return true;
    }

    internal static RelayError NotFound(string id) => new(ErrorKind.NotFound, $"no key has id '{id}'");

    private static TableEntity ToEntity(ClientKey key, string rowKey, string keyHash) => new(PartitionKey, rowKey)
    {
        ["Id"] = key.Id,
        ["Name"] = key.Name,
        ["Owner"] = key.Owner,
        ["Models"] = StorageJson.WriteList(key.Models),
        ["ExpiresAt"] = key.ExpiresAt,
        ["Limits"] = key.Limits.IsEmpty ? null : key.Limits.ToJson(),
        ["Role"] = key.Role,
        ["Audit"] = key.Audit == AuditMode.Hashes ? null : key.Audit.WireName(),
        ["Enabled"] = key.Enabled,
        ["CreatedAt"] = key.CreatedAt,
        ["Hint"] = key.Hint,
        ["KeyHash"] = keyHash,
    };

    private static ClientKey FromEntity(TableEntity entity) => new()
    {
        Id = entity.GetString("Id"),
        Name = entity.GetString("Name"),
        Owner = entity.GetString("Owner"),
        Models = StorageJson.ReadList(entity.GetString("Models")),
        ExpiresAt = entity.GetDateTimeOffset("ExpiresAt"),
        Limits = KeyLimits.FromJson(entity.GetString("Limits")),
        Role = entity.GetString("Role") ?? ClientKey.UserRole,
        Audit = AuditModes.Parse(entity.GetString("Audit")) ?? AuditMode.Hashes,
        Enabled = entity.GetBoolean("Enabled") ?? true,
        CreatedAt = entity.GetDateTimeOffset("CreatedAt") ?? default,
        Hint = entity.GetString("Hint") ?? "",
    };
}
