using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Errors;

namespace Serverless.Relay.Storage;

/// <summary>
/// How one kind of admin record is kept in a table of its own: one partition, the record's id as row key, and the
/// mapping to and from a row. <paramref name="FromEntity"/> returns null for a row the relay cannot read (an unknown
/// provider or platform), which lists and reads then leave out. <paramref name="Pin"/> gives what a change may not
/// alter back from the stored record (its id, its creation time).
/// </summary>
internal sealed record RecordShape<T>(
    string Table,
    string PartitionKey,
    Func<T, TableEntity> ToEntity,
    Func<TableEntity, T?> FromEntity,
    Func<T, DateTimeOffset> CreatedAt,
    Func<T, T, T> Pin,
    Func<string, RelayError> NotFound)
    where T : class;

/// <summary>
/// The admin records' table (accounts, channels, notification targets): read, list in creation order, create, change
/// under the row's ETag, delete. The stores keep what is theirs: encryption, caches, validation.
/// </summary>
internal sealed class RecordTable<T>(RelayTables tables, RecordShape<T> shape)
    where T : class
{
    /// <summary>Admin changes are rare; a few attempts cover two admins editing the same record.</summary>
    private const int MaxUpdateAttempts = 5;

    public async Task<T?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(shape.Table, cancellationToken).ConfigureAwait(false);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(shape.PartitionKey, id, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? shape.FromEntity(response.Value!) : null;
    }

    /// <summary>Every readable record, in creation order.</summary>
    public async Task<IReadOnlyList<T>> ListAsync(CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(shape.Table, cancellationToken).ConfigureAwait(false);
        var records = new List<T>();
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {shape.PartitionKey}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (shape.FromEntity(entity) is { } record)
            {
                records.Add(record);
            }
        }

        records.Sort((a, b) => shape.CreatedAt(a).CompareTo(shape.CreatedAt(b)));
        return records;
    }

    public async Task CreateAsync(T record, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(shape.Table, cancellationToken).ConfigureAwait(false);
        await table.AddEntityAsync(shape.ToEntity(record), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Read, change, write conditional on the ETag; retried when another writer got there first.</summary>
    public async Task<Result<T>> UpdateAsync(string id, Func<T, Result<T>> change, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(shape.Table, cancellationToken).ConfigureAwait(false);
        return await ETagUpdate.RunAsync<Result<T>>(table, shape.PartitionKey, id, async (current, token) =>
        {
            if (current is null || shape.FromEntity(current) is not { } stored)
            {
                return ETagWrite.Done<Result<T>>(shape.NotFound(id));
            }

            var changed = change(stored);
            if (!changed.IsSuccess)
            {
                return ETagWrite.Done(changed);
            }

            var updated = shape.Pin(stored, changed.Value!);
            try
            {
                await table.UpdateEntityAsync(shape.ToEntity(updated), current.ETag, TableUpdateMode.Replace, token).ConfigureAwait(false);
                return ETagWrite.Done<Result<T>>(updated);
            }
            catch (RequestFailedException e) when (e.Status is 404)
            {
                return ETagWrite.Done<Result<T>>(shape.NotFound(id));
            }
        }, cancellationToken, MaxUpdateAttempts).ConfigureAwait(false);
    }

    /// <summary>False when there was no such record.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(shape.Table, cancellationToken).ConfigureAwait(false);
        return await TableRows.DeleteIfExistsAsync(table, shape.PartitionKey, id, cancellationToken).ConfigureAwait(false);
    }
}
