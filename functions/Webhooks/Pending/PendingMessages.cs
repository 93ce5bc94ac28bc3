using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Storage;
using Serverless.Relay.Telemetry;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Pending;

/// <summary>One accepted IM message and how far its answer got.</summary>
internal sealed record PendingMessage
{
    public required string ChannelId { get; init; }

    /// <summary>The platform's dedup key (<see cref="InboundMessage.MessageKey"/>).</summary>
    public required string MessageKey { get; init; }

    /// <summary>The chat (the Service Bus session).</summary>
    public required string ConversationId { get; init; }

    public required string UserId { get; init; }

    /// <summary>Where a reply goes: kept so that PurgePending can tell the user the message timed out.</summary>
    public required ReplyTarget ReplyTo { get; init; }

    public required PendingState State { get; init; }

    /// <summary>Why the row failed or expired; null otherwise.</summary>
    public string? Reason { get; init; }

    public required DateTimeOffset ReceivedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>What a <see cref="PendingMessages.MarkAsync"/> did: whether this call moved the row, and the row's state after it (null: no such row).</summary>
internal readonly record struct PendingTransition(bool Moved, PendingState? State)
{
    public static PendingTransition NoRow => new(false, null);
}

/// <summary>A page of a scan across channels, and where the next one starts (null: done).</summary>
internal sealed record PendingPage(IReadOnlyList<PendingMessage> Rows, string? Continuation);

/// <summary>
/// The <c>{prefix}pending</c> table: PK = channel id, RK = the platform's message key (escaped, <see cref="TableKeys"/>).
/// The row is the dedup marker: <see cref="TryAcceptAsync"/> inserts it if absent, and a conflict means the platform
/// sent the message again. Columns MessageKey, ConversationId, UserId, ReplyTo (JSON), State, Reason, ReceivedAt,
/// UpdatedAt. Rows stay until <see cref="PendingOptions.Keep"/>, so a late platform retry is still recognised.
/// </summary>
internal sealed class PendingMessages(RelayTables tables, TimeProvider time, RelayMetrics metrics)
{
    public const string Table = "pending";
    public const int MaxReasonLength = 500;

    /// <summary>Records a newly accepted message as <see cref="PendingState.Queued"/>; false when it is already there (a duplicate).</summary>
    public async Task<bool> TryAcceptAsync(string channelId, InboundMessage message, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var table = await GetTableAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(channelId, TableKeys.Escape(message.MessageKey))
        {
            ["MessageKey"] = message.MessageKey,
            ["ConversationId"] = message.ConversationId,
            ["UserId"] = message.UserId,
            ["ReplyTo"] = JsonSerializer.Serialize(message.ReplyTo, ImMessageJson.Default.ReplyTarget),
            ["State"] = PendingState.Queued.WireName(),
            ["ReceivedAt"] = receivedAt,
            ["UpdatedAt"] = receivedAt,
        };
        try
        {
            await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            metrics.ImMessageEntered(PendingState.Queued.WireName());
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    /// <summary>
    /// Removes a row that was accepted but could not be handed on (the queue refused it), so the platform's retry of that
    /// message is accepted instead of taken for a duplicate. Only a <see cref="PendingState.Queued"/> row is removed.
    /// </summary>
    public async Task ForgetAsync(string channelId, string messageKey, CancellationToken cancellationToken)
    {
        var table = await GetTableAsync(cancellationToken).ConfigureAwait(false);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(channelId, TableKeys.Escape(messageKey), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!response.HasValue || response.Value!.GetString("State") != PendingState.Queued.WireName())
        {
            return;
        }

        try
        {
            await table.DeleteEntityAsync(response.Value.PartitionKey, response.Value.RowKey, response.Value.ETag, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            // Gone or moved on meanwhile: either way it is no longer a queued row to forget.
        }
    }

    public async Task<PendingMessage?> GetAsync(string channelId, string messageKey, CancellationToken cancellationToken)
    {
        var table = await GetTableAsync(cancellationToken).ConfigureAwait(false);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(channelId, TableKeys.Escape(messageKey), cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    /// <summary>
    /// Moves the row to <paramref name="state"/> if that is forward (<see cref="PendingStates.CanMove"/>), conditional on
    /// its ETag, so of two racing writers exactly one makes a given move (<see cref="PendingTransition.Moved"/>).
    /// </summary>
    public async Task<PendingTransition> MarkAsync(string channelId, string messageKey, PendingState state, string? reason, CancellationToken cancellationToken)
    {
        var table = await GetTableAsync(cancellationToken).ConfigureAwait(false);
        return await ETagUpdate.RunAsync(table, channelId, TableKeys.Escape(messageKey), async (current, token) =>
        {
            if (current is null || !PendingStates.TryParse(current.GetString("State"), out var now))
            {
                return ETagWrite.Done(PendingTransition.NoRow);
            }

            if (!PendingStates.CanMove(now, state))
            {
                return ETagWrite.Done(new PendingTransition(false, now));
            }

            var change = new TableEntity(current.PartitionKey, current.RowKey)
            {
                ["State"] = state.WireName(),
                ["Reason"] = reason is { Length: > MaxReasonLength } ? reason[..MaxReasonLength] : reason,
                ["UpdatedAt"] = time.GetUtcNow(),
            };
            try
            {
                await table.UpdateEntityAsync(change, current.ETag, TableUpdateMode.Merge, token).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                return ETagWrite.Done(PendingTransition.NoRow);
            }

            metrics.ImMessageEntered(state.WireName());
            return ETagWrite.Done(new PendingTransition(true, state));
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A channel's newest <paramref name="limit"/> rows (optionally in one state), newest first, and whether there are
    /// more. NOTE: rows are keyed by message key, not time, so the partition is read whole (server-side filtered by
    /// state) and only the newest are kept in memory; a partition holds at most <see cref="PendingOptions.Keep"/> of messages.
    /// </summary>
    public async Task<(IReadOnlyList<PendingMessage> Rows, bool HasMore)> ListAsync(string channelId, PendingState? state, int limit, CancellationToken cancellationToken)
    {
        var table = await GetTableAsync(cancellationToken).ConfigureAwait(false);
        var filter = state is { } only
            ? TableClient.CreateQueryFilter($"PartitionKey eq {channelId} and State eq {only.WireName()}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {channelId}");
        var newest = new PriorityQueue<PendingMessage, DateTimeOffset>();
        var more = false;
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (FromEntity(entity) is not { } row)
            {
                continue;
            }

            newest.Enqueue(row, row.ReceivedAt);
            if (newest.Count > limit)
            {
                newest.Dequeue(); // the oldest kept so far
                more = true;
            }
        }

        var rows = new List<PendingMessage>(newest.Count);
        while (newest.TryDequeue(out var row, out _))
        {
            rows.Add(row);
        }

        rows.Reverse();
        return (rows, more);
    }

    /// <summary>One page of the rows in every channel received from <paramref name="receivedFrom"/> up to (not including) <paramref name="receivedBefore"/> that are not final.</summary>
    public async Task<PendingPage> ListUndeliveredAsync(DateTimeOffset receivedFrom, DateTimeOffset receivedBefore, string? continuation, int pageSize, CancellationToken cancellationToken)
    {
        var table = await GetTableAsync(cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter(
            $"ReceivedAt ge {receivedFrom} and ReceivedAt lt {receivedBefore} and (State eq {PendingState.Queued.WireName()} or State eq {PendingState.Answered.WireName()})");
        await foreach (var page in table.QueryAsync<TableEntity>(filter, pageSize, cancellationToken: cancellationToken).AsPages(continuation, pageSize).ConfigureAwait(false))
        {
            return new PendingPage([.. page.Values.Select(FromEntity).OfType<PendingMessage>()], page.ContinuationToken);
        }

        return new PendingPage([], null);
    }

    /// <summary>The filter of rows received before <paramref name="cutoff"/>, whatever their state: what retention deletes.</summary>
    public static string ReceivedBefore(DateTimeOffset cutoff) => TableClient.CreateQueryFilter($"ReceivedAt lt {cutoff}");

    public ValueTask<TableClient> GetTableAsync(CancellationToken cancellationToken) => tables.GetAsync(Table, cancellationToken);

    private static PendingMessage? FromEntity(TableEntity entity)
    {
        if (!PendingStates.TryParse(entity.GetString("State"), out var state) || entity.GetString("ReplyTo") is not { } replyTo)
        {
            return null;
        }

        return new PendingMessage
        {
            ChannelId = entity.PartitionKey,
            MessageKey = entity.GetString("MessageKey") ?? entity.RowKey,
            ConversationId = entity.GetString("ConversationId") ?? "",
            UserId = entity.GetString("UserId") ?? "",
            ReplyTo = JsonSerializer.Deserialize(replyTo, ImMessageJson.Default.ReplyTarget)!,
            State = state,
            Reason = entity.GetString("Reason"),
            ReceivedAt = entity.GetDateTimeOffset("ReceivedAt") ?? default,
            UpdatedAt = entity.GetDateTimeOffset("UpdatedAt") ?? default,
        };
    }
}
