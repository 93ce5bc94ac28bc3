using Azure;
using Azure.Data.Tables;

namespace Serverless.Relay.Storage;

/// <summary>Row operations whose Azure behaviour Azurite does not reproduce.</summary>
internal static class TableRows
{
    /// <summary>Deletes one row; false when there was none.</summary>
    public static async Task<bool> DeleteIfExistsAsync(TableClient table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        // NOTE: read first: Azurite answers 204 to a delete of a missing entity with ETag '*', where Azure answers 404.
        var current = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, select: ["PartitionKey"], cancellationToken).ConfigureAwait(false);
        if (!current.HasValue)
        {
            return false;
        }

        try
        {
            await table.DeleteEntityAsync(partitionKey, rowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }
}
