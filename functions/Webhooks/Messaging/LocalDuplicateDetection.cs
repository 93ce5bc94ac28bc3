using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Storage;

namespace Serverless.Webhooks.Messaging;

/// <summary>
/// Local mode's stand-in for Service Bus duplicate detection (<c>duplicateDetectionHistoryTimeWindow: PT10M</c> in
/// infra/bicep): the first send of a <c>MessageId</c> to a queue claims a row; another send of it within the window is
/// dropped. The claim is an insert-if-absent, so two processes sending at once still let exactly one through.
/// NOTE: claims are not swept; local storage is throwaway, and an expired claim is taken over in place.
/// </summary>
internal sealed class LocalDuplicateDetection(RelayTables tables, TimeProvider time)
{
    public const string Table = "localdedup";

    /// <summary>As the queues in infra/bicep.</summary>
    public static readonly TimeSpan Window = ImMessageIds.DuplicateDetectionWindow;

    /// <returns>True when this send may go: no send of the same id to the queue within the window.</returns>
    public async Task<bool> TryClaimAsync(string queue, string messageId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var claim = new TableEntity(queue, RowKeyOf(messageId)) { ["MessageId"] = messageId, ["ClaimedAt"] = now };
        try
        {
            await table.AddEntityAsync(claim, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
        }

        var existing = await table.GetEntityIfExistsAsync<TableEntity>(claim.PartitionKey, claim.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!existing.HasValue || existing.Value is not { } row)
        {
            // Released between the insert and the read: try once more, as a fresh claim.
            return await TryInsertAsync(table, claim, cancellationToken).ConfigureAwait(false);
        }

        if (row.GetDateTimeOffset("ClaimedAt") is { } claimedAt && now - claimedAt < Window)
        {
            return false;
        }

        try
        {
            await table.UpdateEntityAsync(claim, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false; // another sender took the expired claim first
        }
    }

    /// <summary>Gives a claim back when the send failed, so that a retry of the same message is not dropped as a duplicate.</summary>
    public async Task ReleaseAsync(string queue, string messageId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            await table.DeleteEntityAsync(queue, RowKeyOf(messageId), ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    private static async Task<bool> TryInsertAsync(TableClient table, TableEntity claim, CancellationToken cancellationToken)
    {
        try
        {
            await table.AddEntityAsync(claim, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    /// <summary>NOTE: a message id may hold characters a row key refuses ('/', '#', '?', control characters): hash it.</summary>
    private static string RowKeyOf(string messageId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(messageId)));
}
