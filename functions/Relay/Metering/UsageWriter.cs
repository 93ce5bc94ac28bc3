using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Azure.Data.Tables;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Audit;
using Serverless.Relay.Storage;
using Serverless.Relay.Storage.Batches;
using Serverless.Relay.Telemetry;

namespace Serverless.Relay.Metering;

/// <summary>
/// Writes usage records to <c>{prefix}usage</c> in the background: PK = key id, RK =
/// <c>yyyyMMddHHmmssfff-&lt;requestId&gt;</c> (UTC), so a key's rows read back in time order; and each request's audit
/// row beside it (<see cref="AuditTrail"/>).
/// Records are batched per partition into transactions of at most 100, written idempotently (upsert) so a retry after
/// an unknown outcome cannot fail or duplicate, retried with back-off on transient failures (<see cref="UsageRetry"/>), and drained on stop.
/// </summary>
internal sealed partial class UsageWriter : IUsageSink, IHostedService, IAsyncDisposable, IDisposable
{
    public const int MaxBatchSize = 100; // Table transactions take at most 100 entities, all in one partition.
    private const int MaxRecordsPerRound = 1_000;
    private const int MaxErrorLength = 500;

    /// <summary>The columns <see cref="ToRow"/> sets.</summary>
    private const int UsageColumns = 21;

    private readonly RelayTables _tables;
    private readonly UsageTotals _totals;
    private readonly TimeProvider _time;
    private readonly ILogger<UsageWriter> _logger;
    private readonly UsageWriterOptions _options;
    private readonly UsageRetry _retry;
    private readonly RelayMetrics _metrics;
    private readonly AuditTrail _audit;

    // NOTE: why a bounded channel plus an overflow queue rather than one unbounded channel. Record runs on the request
    // path, so it must neither wait for room (blocking a request on metering) nor drop (lost usage is lost revenue).
    // The bound is kept at the door instead: while Capacity records wait, Backlogged is true and the relay admits no
    // new request (HttpRelay sheds it with 503 + Retry-After), so only the requests already in flight can add more,
    // and those go to the overflow queue that the same loop drains. Memory is Capacity records plus one per request in
    // flight, however long storage is slow or away; the first overflow of a burst is logged. A full audit's bodies are
    // kept at a door of their own, by their bytes (MaxAuditBytes) until their round is written: only requests that
    // would add bodies are shed there (AuditBacklogged), so a slow blob store does not turn away unaudited keys.
    private readonly Channel<UsageRecord> _channel;
    private readonly ConcurrentQueue<UsageRecord> _overflow = new();
    private readonly SemaphoreSlim _overflowSignal = new(0);
    private readonly CancellationTokenSource _abort = new();
    private Task? _loop;
    private int _overflowing;
    private int _stopped;
    private long _written;
    private long _queued; // in the channel and the overflow queue, not yet taken by the loop
    private long _queuedAuditBytes; // full-audit bodies recorded and not yet written, the loop's round included

    // The loop's own (and, once it ended, StopAsync's): totals of written rows not yet added, and when they are due.
    private readonly Dictionary<(string, string), UsageSum> _pendingTotals = [];
    private long _totalsDueAt;

    public UsageWriter(RelayTables tables, AuditTrail audit, TimeProvider time, IOptions<UsageWriterOptions> options, RelayMetrics metrics, ILogger<UsageWriter> logger)
    {
        _audit = audit;
        _metrics = metrics;
        _tables = tables;
        _totals = new UsageTotals(tables);
        _time = time;
        _logger = logger;
        _options = options.Value;
        _retry = new UsageRetry(_options, time, logger, _abort.Token);
        _channel = Channel.CreateBounded<UsageRecord>(new BoundedChannelOptions(_options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails instead of dropping; we decide what happens then
            SingleWriter = false,
        });
        metrics.ObserveUsageQueue(() => (int)Math.Min(int.MaxValue, Interlocked.Read(ref _queued)));
    }

    /// <summary>Rows written since start; for tests and diagnostics.</summary>
    public long Written => Interlocked.Read(ref _written);

    public bool Backlogged => Interlocked.Read(ref _queued) >= _options.Capacity;

    public bool AuditBacklogged => Interlocked.Read(ref _queuedAuditBytes) >= _options.MaxAuditBytes;

    public void Record(UsageRecord record)
    {
        try
        {
            if (_channel.Writer.TryWrite(record))
            {
                Interlocked.Increment(ref _queued);
                Interlocked.Add(ref _queuedAuditBytes, AuditBytesOf(record));
                return;
            }

            if (Volatile.Read(ref _stopped) != 0)
            {
                Log.RecordedAfterStop(_logger, record.KeyId);
                return;
            }

            _overflow.Enqueue(record);
            Interlocked.Increment(ref _queued);
            Interlocked.Add(ref _queuedAuditBytes, AuditBytesOf(record));
            _overflowSignal.Release();
            if (Interlocked.Exchange(ref _overflowing, 1) == 0)
            {
                Log.Overflowing(_logger, _options.Capacity);
            }
        }
        catch (Exception e)
        {
            // Metering must never fail a request.
            Log.RecordFailed(_logger, e);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop ??= Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops taking records and returns once everything queued is written. If the host's shutdown timeout fires first
    /// (<paramref name="cancellationToken"/>), backoff waits end and what still fails is logged as lost.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _stopped, 1);
        _channel.Writer.TryComplete();
        _overflowSignal.Release();
        if (_loop is null)
        {
            // Never started (e.g. the host failed to start): drain here.
            _loop = Task.Run(RunAsync, CancellationToken.None);
        }

        await using var registration = cancellationToken.Register(() => _abort.Cancel());
        await _loop;

        // A record that raced the stop into the overflow queue after the loop's last look.
        await DrainOverflowAsync();
        await AddPendingTotalsAsync();
    }

    private async Task DrainOverflowAsync()
    {
        var batch = new List<UsageRecord>();
        while (_overflow.TryDequeue(out var record))
        {
            batch.Add(record);
        }

        Interlocked.Add(ref _queued, -batch.Count);

        if (batch.Count > 0)
        {
            await WriteRoundAsync(batch, RowSlices.Whole); // stopping: as fast as it can
        }
    }

    private static long AuditBytesOf(UsageRecord record) => record.Audit?.Bodies?.Bytes ?? 0;

    /// <summary>Writes a round the loop took; its bodies' bytes leave the door's count once they are written (or lost).</summary>
    private async Task WriteRoundAsync(List<UsageRecord> records, RowSlices slices)
    {
        long auditBytes = 0;
        foreach (var record in records)
        {
            auditBytes += AuditBytesOf(record);
        }

        await WriteAsync(records, slices);
        Interlocked.Add(ref _queuedAuditBytes, -auditBytes);
    }

    /// <summary>
    /// Synchronous disposal (a container disposed without <c>DisposeAsync</c>) cannot wait for storage: it ends retry
    /// waits and stops taking records. The host's <see cref="StopAsync"/> is the draining path.
    /// </summary>
    public void Dispose()
    {
        Volatile.Write(ref _stopped, 1);
        _channel.Writer.TryComplete();
        _overflowSignal.Release();
        _abort.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _stopped) == 0 && _loop is not null)
        {
            await StopAsync(CancellationToken.None);
        }

        _abort.Dispose();
    }

    private async Task RunAsync()
    {
        var batch = new List<UsageRecord>(MaxRecordsPerRound);
        Task? overflowWait = null;

        // After a round that was not full (or a wait for the first record), give the requests in flight a moment to
        // finish, so a trickle shares one transaction; under load rounds are full and nothing waits.
        var linger = false;
        while (true)
        {
            if (linger && _options.BatchLinger > TimeSpan.Zero && Volatile.Read(ref _stopped) == 0)
            {
                // NOTE: real time on purpose: this only shapes batches, and a test's fake clock must not stall the writer.
                try
                {
                    await Task.Delay(_options.BatchLinger, _abort.Token);
                }
                catch (OperationCanceledException)
                {
                    // Shutting down: write what is queued now.
                }
            }

            linger = false;
            if (_totalsDueAt != 0 && Stopwatch.GetTimestamp() >= _totalsDueAt)
            {
                await AddPendingTotalsAsync();
            }

            batch.Clear();
            while (batch.Count < MaxRecordsPerRound && _channel.Reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            while (batch.Count < MaxRecordsPerRound && _overflow.TryDequeue(out var record))
            {
                batch.Add(record);
            }

            if (batch.Count > 0)
            {
                // NOTE: taken off the count before the write, so the door reopens as storage catches up; what the loop
                // holds while writing is at most one round (MaxRecordsPerRound) beyond Capacity.
                Interlocked.Add(ref _queued, -batch.Count);
                linger = batch.Count < MaxRecordsPerRound;

                // A round that is not full took everything waiting: the writer keeps up, and can share the CPU.
                await WriteRoundAsync(batch, linger ? RowSlices.Shared : RowSlices.Whole);
                continue;
            }

            if (_overflow.IsEmpty)
            {
                Interlocked.Exchange(ref _overflowing, 0);
            }

            if (_channel.Reader.Completion.IsCompleted && _overflow.IsEmpty)
            {
                await AddPendingTotalsAsync();
                return;
            }

            // Wake on a new record in either queue, or when pending totals are due. The semaphore wait is kept across
            // rounds: an abandoned waiter would swallow the next signal. A stale signal only costs one empty round.
            overflowWait ??= _overflowSignal.WaitAsync();
            var newRecord = _channel.Reader.WaitToReadAsync().AsTask();
            if (_totalsDueAt != 0)
            {
                using var totalsDue = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
                var due = Task.Delay(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _totalsDueAt) is { Ticks: > 0 } wait ? wait : TimeSpan.Zero, totalsDue.Token);
                await Task.WhenAny(newRecord, overflowWait, due);
                await totalsDue.CancelAsync();
            }
            else
            {
                await Task.WhenAny(newRecord, overflowWait);
            }

            if (overflowWait.IsCompleted)
            {
                overflowWait = null;
            }

            linger = true;
        }
    }

    private async Task WriteAsync(List<UsageRecord> records, RowSlices slices)
    {
        try
        {
            var rows = new List<TableRow>(records.Count);
            foreach (var record in records)
            {
                rows.Add(ToRow(record));
                if (slices.Due(rows.Count))
                {
                    await RowSlices.Yield();
                }
            }

            foreach (var transaction in Transactions(rows))
            {
                await SubmitWithRetryAsync(RelayTables.Usage, transaction, slices);
            }

            await WriteAuditAsync(records, slices);

            UsageTotals.Accumulate(_pendingTotals, records);
            if (_totalsDueAt == 0)
            {
                _totalsDueAt = Stopwatch.GetTimestamp() + (long)(_options.TotalsInterval.TotalSeconds * Stopwatch.Frequency);
            }

            if (_options.TotalsInterval == TimeSpan.Zero)
            {
                await AddPendingTotalsAsync();
            }
        }
        catch (Exception e)
        {
            // A malformed record (a bug upstream of us) must not kill the loop and strand everything behind it.
            Log.RowsLost(_logger, records.Count, RelayTables.Usage, e);
            _metrics.UsageRowsFailed(records.Count);
        }
    }

    /// <summary>
    /// The audit rows of the records (every relayed request has one), after their bodies blobs for a full audit: a row
    /// that names a blob is only written once the blob is there. A blob that cannot be written costs its bodies, not
    /// the row.
    /// </summary>
    private async Task WriteAuditAsync(List<UsageRecord> records, RowSlices slices)
    {
        var entries = new AuditEntry[records.Count];
        var count = 0;
        List<int>? withBodies = null;
        foreach (var record in records)
        {
            if (record.Audit is not { } facts)
            {
                continue;
            }

            if (facts.Bodies is not null)
            {
                (withBodies ??= []).Add(count);
            }

            entries[count++] = new AuditEntry
            {
                RequestId = record.RequestId,
                KeyId = record.KeyId,
                Owner = record.Owner,
                AccountId = record.AccountId,
                ClientApi = record.ClientApi,
                Model = record.RequestedModel,
                UpstreamModel = record.UpstreamModel,
                Status = record.Status,
                At = record.Timestamp,
                Facts = facts,
            };
        }

        if (withBodies is not null)
        {
            // NOTE: at once, up to AuditUploads: one at a time, each blob's round trip held up the rows behind it.
            await Parallel.ForEachAsync(
                withBodies,
                new ParallelOptions { MaxDegreeOfParallelism = _options.AuditUploads },
                async (i, _) => entries[i] = await SaveBodiesAsync(entries[i], entries[i].Facts.Bodies!));
        }

        var rows = new List<TableRow>(count);
        for (var i = 0; i < count; i++)
        {
            rows.Add(AuditTrail.ToRow(entries[i]));
            if (slices.Due(rows.Count))
            {
                await RowSlices.Yield();
            }
        }

        foreach (var transaction in Transactions(rows))
        {
            await SubmitWithRetryAsync(RelayTables.Audit, transaction, slices);
        }
    }

    private async Task<AuditEntry> SaveBodiesAsync(AuditEntry entry, AuditBodies bodies)
    {
        try
        {
            var saved = new StrongBox<string>();
            await _retry.ExecuteAsync(
                static async (state, ct) => state.Saved.Value = await state.Audit.SaveBodiesAsync(state.Entry, state.Bodies, ct).ConfigureAwait(false),
                (Audit: _audit, Entry: entry, Bodies: bodies, Saved: saved),
                1);
            return entry with { BodiesBlob = saved.Value, BodiesTruncated = bodies.Truncated };
        }
        catch (Exception e)
        {
            Log.AuditBodiesLost(_logger, entry.RequestId, e);
            return entry;
        }
    }

    /// <summary>Groups by partition, then splits into transactions of ≤ 100 with distinct row keys each.</summary>
    private static IEnumerable<List<TableRow>> Transactions(IEnumerable<TableRow> entities)
    {
        foreach (var partition in entities.GroupBy(e => e.PartitionKey, StringComparer.Ordinal))
        {
            var open = new List<(List<TableRow> Entities, HashSet<string> RowKeys)>();
            foreach (var entity in partition)
            {
                var slot = OpenSlot(open, entity.RowKey);
                if (slot < 0)
                {
                    open.Add(([], new HashSet<string>(StringComparer.Ordinal)));
                    slot = open.Count - 1;
                }

                open[slot].Entities.Add(entity);
                open[slot].RowKeys.Add(entity.RowKey);
            }

            foreach (var (transaction, _) in open)
            {
                yield return transaction;
            }
        }

        // NOTE: a loop, not FindIndex with a lambda: that allocated a closure and a delegate for every row written.
        static int OpenSlot(List<(List<TableRow> Entities, HashSet<string> RowKeys)> open, string rowKey)
        {
            for (var i = 0; i < open.Count; i++)
            {
                // A transaction may not touch one row twice (the same request recorded twice in one ms).
                if (open[i].Entities.Count < MaxBatchSize && !open[i].RowKeys.Contains(rowKey))
                {
                    return i;
                }
            }

            return -1;
        }
    }

    /// <summary>Writes one transaction of <paramref name="table"/>'s rows; the metrics and <see cref="Written"/> count usage rows only.</summary>
    private async Task SubmitWithRetryAsync(string table, List<TableRow> entities, RowSlices slices)
    {
        try
        {
            await _retry.ExecuteAsync(
                static (state, ct) => state.Self.SubmitAsync(state.Table, state.Entities, state.Slices, ct), (Self: this, Table: table, Entities: entities, Slices: slices), entities.Count);
        }
        catch (Exception e)
        {
            Log.RowsLost(_logger, entities.Count, table, e);
            if (table == RelayTables.Usage)
            {
                _metrics.UsageRowsFailed(entities.Count);
            }
        }
    }

    private async ValueTask SubmitAsync(string tableName, List<TableRow> entities, RowSlices slices, CancellationToken cancellationToken)
    {
        var usage = tableName == RelayTables.Usage;
        while (entities.Count > 0)
        {
            try
            {
                await _tables.UpsertBatchAsync(tableName, entities, slices, cancellationToken);
                if (usage)
                {
                    Interlocked.Add(ref _written, entities.Count);
                    _metrics.UsageRowsWritten(entities.Count);
                }

                return;
            }
            catch (TableBatchRejectedException e) when (!UsageRetry.IsTransient(e) && e.FailedIndex is { } index && index < entities.Count)
            {
                // One bad row (e.g. too large) fails the whole transaction: drop that row, loudly, and send the rest now.
                Log.RowRejected(_logger, tableName, entities[index].PartitionKey, entities[index].RowKey, e.Status, e.ErrorCode);
                if (usage)
                {
                    _metrics.UsageRowsFailed(1);
                }

                entities.RemoveAt(index);
            }
        }
    }

    /// <summary>
    /// Adds the totals summed since the last time to their hourly rows (what <c>/api/admin/usage</c> reads), with the
    /// same retry policy as the rows.
    /// </summary>
    private async Task AddPendingTotalsAsync()
    {
        _totalsDueAt = 0;
        if (_pendingTotals.Count == 0)
        {
            return;
        }

        var sums = new Queue<UsageTotal>(_pendingTotals.Values.Select(static sum => sum.ToTotal()));
        _pendingTotals.Clear();
        try
        {
            await _retry.ExecuteAsync(static (state, ct) => new ValueTask(state.Totals.AddAsync(state.Sums, ct)), (Totals: _totals, Sums: sums), sums.Count);
        }
        catch (Exception e)
        {
            Log.TotalsLost(_logger, sums.Count, e);
        }
    }

    internal static string RowKeyOf(UsageRecord record) => TableRows.TimeOrderedKey(record.Timestamp, record.RequestId);

    internal static TableRow ToRow(UsageRecord record) => new(TableRows.SafeKey(record.KeyId), RowKeyOf(record), UsageColumns)
    {
        ["RequestId"] = record.RequestId,
        ["KeyId"] = record.KeyId,
        ["Owner"] = record.Owner,
        ["AccountId"] = record.AccountId,
        ["ClientApi"] = record.ClientApi,
        ["RequestedModel"] = record.RequestedModel,
        ["UpstreamModel"] = record.UpstreamModel,
        ["Provider"] = record.Provider,
        ["Stream"] = record.Stream,
        ["Status"] = record.Status,
        ["Error"] = record.Error is { Length: > MaxErrorLength } error ? error[..MaxErrorLength] : record.Error,
        ["InputTokens"] = record.Usage.InputTokens,
        ["OutputTokens"] = record.Usage.OutputTokens,
        ["CacheReadTokens"] = record.Usage.CacheReadTokens,
        ["CacheWriteTokens"] = record.Usage.CacheWriteTokens,
        ["ReasoningTokens"] = record.Usage.ReasoningTokens,
        ["CostUsd"] = record.CostUsd is { } cost ? (double)cost : null,
        ["Unpriced"] = record.Unpriced,
        ["LatencyMs"] = record.LatencyMs,
        ["TimeToFirstByteMs"] = record.TimeToFirstByteMs,
        // NOTE: 'Timestamp' is the service's own last-modified column and cannot be written.
        ["RequestTime"] = record.Timestamp,
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "Usage queue is full ({Capacity} records waiting for storage): new requests are refused with 503 until it drains; the requests in flight go to the overflow queue")]
        public static partial void Overflowing(ILogger logger, int capacity);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "{Count} rows of table {Table} could not be written and are lost")]
        public static partial void RowsLost(ILogger logger, int count, string table, Exception exception);

        [LoggerMessage(EventId = 1303, Level = LogLevel.Error, Message = "Row {PartitionKey}/{RowKey} of table {Table} was rejected ({Status} {ErrorCode}) and is lost")]
        public static partial void RowRejected(ILogger logger, string table, string partitionKey, string rowKey, int status, string? errorCode);

        [LoggerMessage(EventId = 1307, Level = LogLevel.Error, Message = "The audit bodies of request {RequestId} could not be stored; its audit row keeps the digests only")]
        public static partial void AuditBodiesLost(ILogger logger, string requestId, Exception exception);

        [LoggerMessage(EventId = 1304, Level = LogLevel.Error, Message = "A usage record for key {KeyId} arrived after the writer stopped and is lost")]
        public static partial void RecordedAfterStop(ILogger logger, string keyId);

        [LoggerMessage(EventId = 1305, Level = LogLevel.Error, Message = "Recording usage failed")]
        public static partial void RecordFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1306, Level = LogLevel.Error, Message = "{Count} hourly usage totals could not be added and are missing")]
        public static partial void TotalsLost(ILogger logger, int count, Exception exception);
    }
}
