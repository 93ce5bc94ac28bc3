using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Secrets;

/// <summary>What a rotation did to one table. <see cref="Unreadable"/> items are <c>table/row/column</c>.</summary>
internal sealed record TableRotation(string Table, int Rows, int Reencrypted, int AlreadyCurrent, int Deleted, IReadOnlyList<string> Unreadable);

/// <summary>What a rotation did, table by table (in registration order), and in total.</summary>
internal sealed record RotationReport(IReadOnlyList<TableRotation> Tables)
{
    public int Rows => Tables.Sum(t => t.Rows);

    public int Reencrypted => Tables.Sum(t => t.Reencrypted);

    public int AlreadyCurrent => Tables.Sum(t => t.AlreadyCurrent);

    public int Deleted => Tables.Sum(t => t.Deleted);

    public IReadOnlyList<string> Unreadable => [.. Tables.SelectMany(t => t.Unreadable)];
}

/// <summary>
/// Re-encrypts every stored secret under the current kid (<c>RELAY_ENCRYPTION_KEY_ID</c>): every column of every table
/// registered as <see cref="EncryptedColumns"/> (upstream accounts, IM channels, notification targets, platform tokens).
/// The old kid must still be listed in <c>RELAY_ENCRYPTION_KEYS</c> while this runs, so every instance keeps reading
/// both; remove it only after a rotation reports nothing unreadable. Each row is rewritten with an ETag condition, so a
/// concurrent change (an OAuth refresh, an admin edit) is re-read, never overwritten.
/// </summary>
internal sealed partial class SecretRotation(
    IEnumerable<EncryptedColumns> registrations, RelayTables tables, SecretProtector protector, EncryptionKeyRing keys, ILogger<SecretRotation> logger)
{
    private const int MaxAttemptsPerRow = 5;

    public async Task<RotationReport> RotateAsync(CancellationToken cancellationToken)
    {
        var rotated = new List<TableRotation>();
        foreach (var registration in registrations)
        {
            rotated.Add(await RotateTableAsync(registration, cancellationToken).ConfigureAwait(false));
        }

        var report = new RotationReport(rotated);
        Log.Rotated(logger, keys.CurrentKeyId, report.Rows, report.Reencrypted, report.Unreadable.Count);
        return report;
    }

    private async Task<TableRotation> RotateTableAsync(EncryptedColumns registration, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(registration.Table, cancellationToken).ConfigureAwait(false);
        int rows = 0, reencrypted = 0, current = 0, deleted = 0;
        var unreadable = new List<string>();
        await foreach (var listed in table.QueryAsync<TableEntity>(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows++;

            // The listed row is the first read; a conflict (changed since, e.g. by an OAuth refresh) reads it again.
            TableEntity? first = listed;
            try
            {
                await ETagUpdate.RunAsync<bool>(
                    async token =>
                    {
                        var read = first;
                        first = null;
                        if (read is null)
                        {
                            var response = await table.GetEntityIfExistsAsync<TableEntity>(listed.PartitionKey, listed.RowKey, cancellationToken: token).ConfigureAwait(false);
                            read = response.HasValue ? response.Value : null;
                        }

                        return read;
                    },
                    async (entity, token) =>
                    {
                        if (entity is null)
                        {
                            return ETagWrite.Done(false); // deleted meanwhile: nothing left to rotate
                        }

                        var (changes, upToDate, failed) = Reencrypt(registration, entity);
                        if (failed.Count > 0 && registration.IsCache)
                        {
                            // A cached secret no key reads is worth nothing: deleted, it is fetched again on next use.
                            if (!await TryDeleteAsync(table, entity, token).ConfigureAwait(false))
                            {
                                return default;
                            }

                            Log.CacheRowDeleted(logger, registration.Table, entity.RowKey);
                            deleted++;
                            return ETagWrite.Done(true);
                        }

                        if (changes.Count > 0 && !await TryMergeAsync(table, entity, changes, token).ConfigureAwait(false))
                        {
                            return default;
                        }

                        unreadable.AddRange(failed.Select(column => $"{registration.Table}/{entity.RowKey}/{column}"));
                        reencrypted += changes.Count;
                        current += upToDate;
                        return ETagWrite.Done(true);
                    },
                    cancellationToken,
                    MaxAttemptsPerRow).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                // Kept changing: left under its old key for the next rotation, which an operator runs until all is current.
                Log.RowSkipped(logger, registration.Table, listed.RowKey);
            }
        }

        return new TableRotation(registration.Table, rows, reencrypted, current, deleted, unreadable);
    }

    private (Dictionary<string, object?> Changes, int UpToDate, List<string> Unreadable) Reencrypt(EncryptedColumns registration, TableEntity entity)
    {
        var changes = new Dictionary<string, object?>();
        var unreadable = new List<string>();
        var upToDate = 0;
        foreach (var column in registration.Columns)
        {
            if (entity.GetString(column) is not { Length: > 0 } stored)
            {
                continue;
            }

            if (stored.StartsWith(keys.CurrentKeyId + ":", StringComparison.Ordinal))
            {
                upToDate++;
                continue;
            }

            var scope = SecretProtector.ScopeOf(registration.Table, entity.PartitionKey, entity.RowKey, column);
            if (!protector.TryUnprotect(stored, scope, out var plaintext, out _))
            {
                unreadable.Add(column);
                continue;
            }

            changes[column] = protector.Protect(plaintext, scope);
        }

        return (changes, upToDate, unreadable);
    }

    /// <summary>Merges the re-encrypted columns if the row still has the ETag it was read with; false when another writer got there first.</summary>
    private static async Task<bool> TryMergeAsync(TableClient table, TableEntity read, Dictionary<string, object?> changes, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(read.PartitionKey, read.RowKey);
        foreach (var (column, value) in changes)
        {
            entity[column] = value;
        }

        try
        {
            await table.UpdateEntityAsync(entity, read.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 412 or 404)
        {
            return false; // read again: changed, or gone (then the read finds nothing to rotate)
        }
    }

    private static async Task<bool> TryDeleteAsync(TableClient table, TableEntity read, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync(read.PartitionKey, read.RowKey, read.ETag, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 412 or 404)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1648, Level = LogLevel.Warning, Message = "Row {Table}/{RowKey} kept changing during rotation and was left under its old key")]
        public static partial void RowSkipped(ILogger logger, string table, string rowKey);

        [LoggerMessage(EventId = 1647, Level = LogLevel.Information, Message = "Row {Table}/{RowKey} holds a cached secret no key reads; deleted, to be fetched again")]
        public static partial void CacheRowDeleted(ILogger logger, string table, string rowKey);

        [LoggerMessage(EventId = 1649, Level = LogLevel.Information, Message = "Secrets rotated to key {KeyId}: {Rows} rows, {Reencrypted} secrets re-encrypted, {Unreadable} unreadable")]
        public static partial void Rotated(ILogger logger, string keyId, int rows, int reencrypted, int unreadable);
    }
}
