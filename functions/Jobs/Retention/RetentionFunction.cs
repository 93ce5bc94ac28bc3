using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Jobs.Sweeps;
using Serverless.Relay.Audit;
using Serverless.Relay.Functions;
using Serverless.Relay.Storage;
using Serverless.Webhooks.Conversations;
using Serverless.Webhooks.Pending;

namespace Serverless.Jobs.Retention;

/// <summary>
/// Timer (daily): deletes per-request usage rows past <see cref="RetentionOptions.UsageDays"/>, conversation rows
/// past <see cref="RetentionOptions.ConversationDays"/>, pending rows past <see cref="PendingOptions.Keep"/> and audit
/// rows and bodies past <see cref="RetentionOptions.AuditDays"/>, in
/// batches, within <see cref="RetentionOptions.MaxRunTime"/>; the next run finishes what one leaves. The hourly usage
/// totals are never touched: they are what <c>/api/admin/usage</c> reads.
/// </summary>
internal sealed partial class RetentionFunction(
    RelayTables tables,
    AuditTrail audit,
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

        // Audit rows first, then their bodies: a row never outlives the blob it names by more than one run.
        var auditCutoff = now.AddDays(-settings.AuditDays);
        var auditTable = await tables.GetAsync(RelayTables.Audit, cancellationToken).ConfigureAwait(false);
        var auditRows = await TableSweep.DeleteAsync(auditTable, AuditTrail.StartedBefore(auditCutoff), deadline, cancellationToken).ConfigureAwait(false);
        var bodies = await audit.DeleteBodiesBeforeAsync(auditCutoff, () => deadline.IsPassed, cancellationToken).ConfigureAwait(false);

        var finished = usage.Finished && turns.Finished && rows.Finished && auditRows.Finished && bodies.Finished;
        Log.Swept(logger, usage.Deleted, turns.Deleted, rows.Deleted, auditRows.Deleted, bodies.Deleted, finished, timer.IsPastDue);
    }

    /// <summary>
    /// Usage rows have RK <c>yyyyMMddHHmmssfff-requestId</c> (UTC, see <c>UsageWriter</c>), so age is a RowKey range
    /// in every partition (one per key), and rows of deleted keys go too.
    /// </summary>
    internal static string UsageWrittenBefore(DateTimeOffset cutoff) =>
        TableClient.CreateQueryFilter($"RowKey lt {TableRows.TimeKeyOf(cutoff)}");

    private static partial class Log
    {
        [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Retention: deleted {Usage} usage rows, {Turns} conversation rows, {Pending} pending rows, {Audit} audit rows, {Bodies} audit bodies (finished: {Finished}, past due: {PastDue})")]
        public static partial void Swept(ILogger logger, int usage, int turns, int pending, int audit, int bodies, bool finished, bool pastDue);
    }
}
