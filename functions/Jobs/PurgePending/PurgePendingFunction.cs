using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Jobs.Retention;
using Serverless.Jobs.Sweeps;
using Serverless.Relay.Functions;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Processing;
using Serverless.Webhooks.Pending;

namespace Serverless.Jobs.PurgePending;

/// <summary>
/// Timer (every minute): pending IM messages not delivered within <see cref="PendingOptions.Ttl"/> become expired and
/// their user gets one short notice; rows older than <see cref="PendingOptions.Keep"/> are deleted in batches.
/// NOTE: mark, then send. The ETag-conditional mark lets exactly one run (or instance) win the move to expired, and
/// only the winner sends, so a second run never resends; a delivery that lands after the mark cannot reopen the row.
/// The price is that a crash between the two loses that one notice (the row says why it expired), where sending first
/// could put "timed out" under an answer that was delivered meanwhile. The notice's MessageId is also stable, so the
/// queue's duplicate detection drops a resend of it.
/// </summary>
internal sealed partial class PurgePendingFunction(
    PendingMessages pending,
    IMessageSender sender,
    IOptions<PendingOptions> pendingOptions,
    IOptions<RetentionOptions> retentionOptions,
    TimeProvider time,
    ILogger<PurgePendingFunction> logger) : ITimerFunction
{
    public const string FunctionName = "PurgePending";
    /// <summary>What the user reads: the one timed-out notice of the IM flow.</summary>
    public const string NoticeText = ImNotices.TimedOut;
    private const int PageSize = 100;

    public string Name => FunctionName;

    public async Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var deadline = SweepDeadline.After(time, retentionOptions.Value.MaxRunTime);
        var (expired, notified) = await ExpireAsync(now, deadline, cancellationToken).ConfigureAwait(false);

        var table = await pending.GetTableAsync(cancellationToken).ConfigureAwait(false);
        var swept = await TableSweep.DeleteAsync(table, PendingMessages.ReceivedBefore(now - pendingOptions.Value.Keep), deadline, cancellationToken).ConfigureAwait(false);
        Log.Purged(logger, expired, notified, swept.Deleted, swept.Finished, timer.IsPastDue);
    }

    private async Task<(int Expired, int Notified)> ExpireAsync(DateTimeOffset now, SweepDeadline deadline, CancellationToken cancellationToken)
    {
        var ttl = pendingOptions.Value.Ttl;
        var reason = $"not delivered within {ttl.TotalMinutes:0.#} minutes";
        int expired = 0, notified = 0;
        string? continuation = null;
        do
        {
            // Rows past Keep are not told anything: they are about to be deleted, and a notice days late helps no one.
            var page = await pending.ListUndeliveredAsync(now - pendingOptions.Value.Keep, now - ttl, continuation, PageSize, cancellationToken).ConfigureAwait(false);
            foreach (var row in page.Rows)
            {
                var moved = await pending.MarkAsync(row.ChannelId, row.MessageKey, PendingState.Expired, reason, cancellationToken).ConfigureAwait(false);
                if (!moved.Moved)
                {
                    continue; // delivered, failed or expired by someone else meanwhile
                }

                expired++;
                if (await TryNotifyAsync(row, now, cancellationToken).ConfigureAwait(false))
                {
                    notified++;
                }
            }

            continuation = page.Continuation;
        }
        while (continuation is not null && !deadline.IsPassed);

        return (expired, notified);
    }

    /// <summary>One notice to the chat, unless the platform no longer takes a reply there (an expired DingTalk session webhook).</summary>
    private async Task<bool> TryNotifyAsync(PendingMessage row, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (row.ReplyTo.SessionWebhookExpiresAt is { } until && until <= now)
        {
            return false;
        }

        var notice = new OutboundReply(row.ChannelId, row.MessageKey, row.ReplyTo, NoticeText, OutboundKind.Notice);
        try
        {
            await sender.SendAsync(new OutgoingMessage(ImQueues.Outbound, ImMessages.Write(notice), NoticeMessageId(row), ImMessageIds.Session(row.ChannelId, row.ConversationId)), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The row is already expired: the user misses the notice, the other rows still get theirs.
            Log.NoticeFailed(logger, row.ChannelId, e);
            return false;
        }
    }

    /// <summary>
    /// NOTE: scoped to the channel: two bots can see the same platform key (Telegram update ids are per bot), and the
    /// queue's duplicate detection would drop the second.
    /// </summary>
    internal static string NoticeMessageId(PendingMessage row) => $"{row.ChannelId}:{row.MessageKey}:expired";

    private static partial class Log
    {
        [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "PurgePending: {Expired} messages expired, {Notified} users told, {Deleted} old rows deleted (finished: {Finished}, past due: {PastDue})")]
        public static partial void Purged(ILogger logger, int expired, int notified, int deleted, bool finished, bool pastDue);

        [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "PurgePending: the timed-out notice for a message of channel {ChannelId} could not be sent")]
        public static partial void NoticeFailed(ILogger logger, string channelId, Exception exception);
    }
}
