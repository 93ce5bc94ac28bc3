using Azure;
using Azure.Data.Tables;

namespace Serverless.Jobs.Sweeps;

/// <summary>When a sweeping run must stop: <see cref="IsPassed"/> on the injected clock, so a fake clock drives it in tests.</summary>
internal readonly record struct SweepDeadline(TimeProvider Time, DateTimeOffset At)
{
    public static SweepDeadline After(TimeProvider time, TimeSpan runTime) => new(time, time.GetUtcNow() + runTime);

    public bool IsPassed => Time.GetUtcNow() >= At;
}

/// <summary>What one sweep deleted, and whether it got to the end (false: the deadline stopped it; the next run goes on).</summary>
internal readonly record struct SweepResult(int Deleted, bool Finished);

/// <summary>
/// Deletes every row of a table that a filter matches, in Table batch transactions (at most 100 rows, one partition
/// each), until done or until the deadline. NOTE: no continuation is kept between runs: the filter is about age, so
/// the next run's query finds exactly the rows this one left. A sweep always deletes one batch, even past its
/// deadline, so a run that starts late still makes progress.
/// </summary>
internal static class TableSweep
{
    public const int MaxBatch = 100;
    private const int PageSize = 1000;

    public static async Task<SweepResult> DeleteAsync(TableClient table, string filter, SweepDeadline deadline, CancellationToken cancellationToken)
    {
        var deleted = 0;
        var pages = table.QueryAsync<TableEntity>(filter, PageSize, select: ["PartitionKey", "RowKey"], cancellationToken).AsPages(pageSizeHint: PageSize);
        await foreach (var page in pages.ConfigureAwait(false))
        {
            foreach (var batch in Batches(page.Values))
            {
                if (deleted > 0 && deadline.IsPassed)
                {
                    return new SweepResult(deleted, false);
                }

                await DeleteBatchAsync(table, batch, cancellationToken).ConfigureAwait(false);
                deleted += batch.Count;
            }
        }

        return new SweepResult(deleted, true);
    }

    /// <summary>Rows come from the query ordered by partition, so runs of one partition become batches of ≤ 100.</summary>
    private static IEnumerable<List<TableEntity>> Batches(IReadOnlyList<TableEntity> rows)
    {
        var batch = new List<TableEntity>(MaxBatch);
        foreach (var row in rows)
        {
            if (batch.Count == MaxBatch || (batch.Count > 0 && !string.Equals(batch[0].PartitionKey, row.PartitionKey, StringComparison.Ordinal)))
            {
                yield return batch;
                batch = new List<TableEntity>(MaxBatch);
            }

            batch.Add(row);
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    private static async Task DeleteBatchAsync(TableClient table, List<TableEntity> batch, CancellationToken cancellationToken)
    {
        try
        {
            await table.SubmitTransactionAsync(
                batch.Select(row => new TableTransactionAction(TableTransactionActionType.Delete, row, ETag.All)),
                cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException e) when (e.Status == 404)
        {
            // A row went meanwhile (another run, an admin): the batch failed as a whole, so delete the rest one by one.
            foreach (var row in batch)
            {
                try
                {
                    await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
                }
                catch (RequestFailedException gone) when (gone.Status == 404)
                {
                }
            }
        }
    }
}
