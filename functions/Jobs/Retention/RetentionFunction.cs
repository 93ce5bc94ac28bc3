using System.Globalization;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Jobs.Sweeps;
using Serverless.Relay.Functions;
using Serverless.Relay.Storage;
using Serverless.Webhooks.Conversations;
using Serverless.Webhooks.Pending;

namespace Serverless.Jobs.Retention;

/// <summary>
/// Timer (daily): deletes per-request usage rows past <see cref="RetentionOptions.UsageDays"/>, conversation rows
/// past <see cref="RetentionOptions.ConversationDays"/> and pending rows past <see cref="PendingOptions.Keep"/>, in
/// batches, within <see cref="RetentionOptions.MaxRunTime"/>; the next run finishes what one leaves. The hourly usage
/// totals are never touched: they are what <c>/api/admin/usage</c> reads.
/// </summary>
internal sealed partial class RetentionFunction(
    RelayTables tables,
    ConversationStore conversations,
    PendingMessages pending,
    IOptions<RetentionOptions> options,
    IOptions<PendingOptions> pendingOptions,
    TimeProvider time,
    ILogger<RetentionFunction> logger) : ITimerFunction
{
    public const string FunctionName = "Retention";

    public string Name => FunctionName;

    public async Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var deadline = SweepDeadline.After(time, settings.MaxRunTime);

        var usageTable = await tables.GetAsync(RelayTables.Usage, cancellationToken).ConfigureAwait(false);
        var usage = await TableSweep.DeleteAsync(usageTable, UsageWrittenBefore(now.AddDays(-settings.UsageDays)), deadline, cancellationToken).ConfigureAwait(false);

        var turnsTable = await conversations.GetTableAsync(cancellationToken).ConfigureAwait(false);
        var turns = await TableSweep.DeleteAsync(turnsTable, ConversationStore.WrittenBefore(now.AddDays(-settings.ConversationDays)), deadline, cancellationToken).ConfigureAwait(false);

        var pendingTable = await pending.GetTableAsync(cancellationToken).ConfigureAwait(false);
        var rows = await TableSweep.DeleteAsync(pendingTable, PendingMessages.ReceivedBefore(now - pendingOptions.Value.Keep), deadline, cancellationToken).ConfigureAwait(false);

        Log.Swept(logger, usage.Deleted, turns.Deleted, rows.Deleted, usage.Finished && turns.Finished && rows.Finished, timer.IsPastDue);
    }

    /// <summary>
    /// Usage rows have RK <c>yyyyMMddHHmmssfff-requestId</c> (UTC, see <c>UsageWriter</c>), so age is a RowKey range
    /// in every partition (one per key), and rows of deleted keys go too.
    /// </summary>
    internal static string UsageWrittenBefore(DateTimeOffset cutoff) =>
        TableClient.CreateQueryFilter($"RowKey lt {cutoff.UtcDateTime.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture)}");

    private static partial class Log
    {
        [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Retention: deleted {Usage} usage rows, {Turns} conversation rows, {Pending} pending rows (finished: {Finished}, past due: {PastDue})")]
        public static partial void Swept(ILogger logger, int usage, int turns, int pending, bool finished, bool pastDue);
    }
}
