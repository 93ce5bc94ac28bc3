using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Serverless.Relay.Limits;
using Serverless.Relay.Storage;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Conversations;

/// <summary>One earlier exchange of a chat.</summary>
internal sealed record ConversationTurn(string User, string Assistant, DateTimeOffset At);

/// <summary>
/// The <c>{prefix}conversations</c> table: the recent turns of each chat. PK = <c>{channelId}:{conversation id}</c>
/// (escaped, <see cref="TableKeys"/>), RK = inverted ticks (19 digits), so a partition reads newest first and a load
/// stops after the rows it needs. A turn row holds User, Assistant, Tokens (estimated once, when written) and At; a
/// reset row (<c>/new</c>, <c>/reset</c>) marks where the current conversation begins: loads stop there, and
/// the older rows are left to Retention, which is cheaper than deleting them now.
/// </summary>
internal sealed class ConversationStore(RelayTables tables, TokenEstimator tokens, TimeProvider time, IOptions<ConversationOptions> options)
{
    public const string Table = "conversations";

    /// <summary>
    /// NOTE: a Table string property holds at most 64 KiB (32K UTF-16 characters). Longer texts keep their start: the
    /// model still sees what was asked and how the answer began.
    /// </summary>
    internal const int MaxTextLength = 30_000;

    private const string KindTurn = "turn";
    private const string KindReset = "reset";
    private const int MaxAppendAttempts = 5;

    /// <summary>The turns of the current conversation, oldest first, within <see cref="ConversationOptions"/>.</summary>
    public Task<IReadOnlyList<ConversationTurn>> LoadAsync(string channelId, string conversationId, CancellationToken cancellationToken) =>
        LoadAsync(channelId, conversationId, options.Value.MaxTurns, options.Value.MaxTokens, cancellationToken);

    /// <summary>
    /// The newest turns since the last reset, at most <paramref name="maxTurns"/> and at most <paramref name="maxTokens"/>
    /// estimated tokens together, returned oldest first. A turn that does not fit ends the load: a gap in the middle of
    /// a conversation would confuse the model more than a shorter history.
    /// </summary>
    public async Task<IReadOnlyList<ConversationTurn>> LoadAsync(string channelId, string conversationId, int maxTurns, int maxTokens, CancellationToken cancellationToken)
    {
        var turns = new List<ConversationTurn>();
        if (maxTurns <= 0)
        {
            return turns;
        }

        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PartitionOf(channelId, conversationId)}");
        var total = 0L;
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: maxTurns + 1, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (entity.GetString("Kind") != KindTurn)
            {
                break; // the conversation was reset here
            }

            total += entity.GetInt32("Tokens") ?? 0;
            if (total > maxTokens)
            {
                break;
            }

            turns.Add(new ConversationTurn(entity.GetString("User") ?? "", entity.GetString("Assistant") ?? "", entity.GetDateTimeOffset("At") ?? default));
            if (turns.Count == maxTurns)
            {
                break;
            }
        }

        turns.Reverse();
        return turns;
    }

    /// <summary>Adds a turn after every row of the chat.</summary>
    public Task AppendAsync(string channelId, string conversationId, string userText, string assistantText, CancellationToken cancellationToken)
    {
        var user = Clip(userText);
        var assistant = Clip(assistantText);
        return AddNewestAsync(channelId, conversationId, KindTurn, entity =>
        {
            entity["User"] = user;
            entity["Assistant"] = assistant;
            // Estimated once here (o200k BPE), so a load adds numbers instead of tokenizing the whole history again.
            entity["Tokens"] = tokens.CountText(user) + tokens.CountText(assistant);
        }, cancellationToken);
    }

    /// <summary>Starts a fresh conversation: later loads see nothing before this point.</summary>
    public Task ResetAsync(string channelId, string conversationId, CancellationToken cancellationToken) =>
        AddNewestAsync(channelId, conversationId, KindReset, _ => { }, cancellationToken);

    /// <summary>The filter of rows written before <paramref name="cutoff"/>: what retention deletes.</summary>
    public static string WrittenBefore(DateTimeOffset cutoff) => TableClient.CreateQueryFilter($"At lt {cutoff}");

    public ValueTask<TableClient> GetTableAsync(CancellationToken cancellationToken) => tables.GetAsync(Table, cancellationToken);

    internal static string PartitionOf(string channelId, string conversationId) => channelId + ":" + TableKeys.Escape(conversationId);

    internal static string RowKeyOf(long ticks) => (DateTimeOffset.MaxValue.UtcTicks - ticks).ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes a row that sorts before (is newer than) every row of the partition. NOTE: two turns in the same tick (a
    /// fake clock, a coarse one) would collide or sort at random, so the new row takes one tick after the newest row
    /// when the clock has not moved past it; a concurrent writer's insert shows up as 409 and the write is redone.
    /// </summary>
    private async Task AddNewestAsync(string channelId, string conversationId, string kind, Action<TableEntity> fill, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var partition = PartitionOf(channelId, conversationId);
        for (var attempt = 1; ; attempt++)
        {
            var now = time.GetUtcNow();
            var ticks = now.UtcTicks;
            await foreach (var newest in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), maxPerPage: 1, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var newestTicks = DateTimeOffset.MaxValue.UtcTicks - long.Parse(newest.RowKey, CultureInfo.InvariantCulture);
                ticks = Math.Max(ticks, newestTicks + 1);
                break;
            }

            var entity = new TableEntity(partition, RowKeyOf(ticks))
            {
                ["Kind"] = kind,
                ["ChannelId"] = channelId,
                ["ConversationId"] = conversationId,
                ["At"] = now,
            };
            fill(entity);
            try
            {
                await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException e) when (e.Status == 409 && attempt < MaxAppendAttempts)
            {
                // Another writer took that tick: read the newest again.
            }
        }
    }

    private static string Clip(string text) =>
        text.Length <= MaxTextLength ? text : text[..(char.IsHighSurrogate(text[MaxTextLength - 1]) ? MaxTextLength - 1 : MaxTextLength)];
}
