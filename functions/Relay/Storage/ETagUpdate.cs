using Azure;
using Azure.Data.Tables;

namespace Serverless.Relay.Storage;

/// <summary>
/// What one attempt of an <see cref="ETagUpdate"/> did: finished with a result (<see cref="ETagWrite.Done"/>), or lost
/// the race to another writer (<c>default</c>: read again).
/// </summary>
internal readonly struct ETagWrite<T>
{
    internal ETagWrite(T result)
    {
        IsDone = true;
        Result = result;
    }

    public bool IsDone { get; }

    public T? Result { get; }
}

internal static class ETagWrite
{
    public static ETagWrite<T> Done<T>(T result) => new(result);
}

/// <summary>
/// The read-modify-write every store does on a row that several instances change: read the row and its ETag, decide
/// the new row, write it conditional on that ETag; when another writer got there first (412, or 409 when two inserted
/// the same new row) read again and redo the change, a bounded number of times. Like <see cref="TableClient"/>'s own
/// calls, the one error type is <see cref="RequestFailedException"/>: a conflict that outlasts the attempts is thrown as
/// that 412 (or 409), anything else as the service said it.
/// </summary>
internal static class ETagUpdate
{
    /// <summary>Enough for a few instances hammering one row; each attempt is a read and a write.</summary>
    public const int DefaultMaxAttempts = 20;

    /// <summary>Runs the loop over one row of <paramref name="table"/>.</summary>
    /// <param name="write">
    /// Given the row as read (null when absent), writes the change conditional on its ETag (see
    /// <see cref="ReplaceOrAddAsync"/>) and returns <see cref="ETagWrite.Done"/>, or <c>default</c> to read again. A <see cref="RequestFailedException"/> with 412, or 409, is read as a conflict too.
    /// </param>
    public static Task<T> RunAsync<T>(
        TableClient table,
        string partitionKey,
        string rowKey,
        Func<TableEntity?, CancellationToken, Task<ETagWrite<T>>> write,
        CancellationToken cancellationToken,
        int maxAttempts = DefaultMaxAttempts) =>
        RunAsync(
            async token =>
            {
                var current = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: token).ConfigureAwait(false);
                return current.HasValue ? current.Value : null;
            },
            write,
            cancellationToken,
            maxAttempts);

    /// <summary>Runs the loop with the caller's own read (a row already in hand, or a read through another store).</summary>
    public static async Task<T> RunAsync<T>(
        Func<CancellationToken, Task<TableEntity?>> read,
        Func<TableEntity?, CancellationToken, Task<ETagWrite<T>>> write,
        CancellationToken cancellationToken,
        int maxAttempts = DefaultMaxAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        for (var attempt = 1; ; attempt++)
        {
            var current = await read(cancellationToken).ConfigureAwait(false);
            try
            {
                var outcome = await write(current, cancellationToken).ConfigureAwait(false);
                if (outcome.IsDone)
                {
                    return outcome.Result!;
                }
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 && attempt < maxAttempts)
            {
                // Another writer got there first: read its result and apply the change on top.
                continue;
            }

            if (attempt >= maxAttempts)
            {
                throw new RequestFailedException(412, $"The row kept changing under {maxAttempts} attempts to update it.", "UpdateConditionNotSatisfied", null);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="entity"/> in place of <paramref name="current"/>, conditional on its ETag, or adds it when
    /// there was no row (so a concurrent insert fails with 409 instead of being overwritten).
    /// </summary>
    public static async Task ReplaceOrAddAsync(TableClient table, TableEntity? current, TableEntity entity, CancellationToken cancellationToken)
    {
        if (current is not null)
        {
            await table.UpdateEntityAsync(entity, current.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        }
    }
}
