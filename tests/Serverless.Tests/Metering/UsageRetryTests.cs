using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Serverless.Relay.Canonical;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Metering;

public sealed class UsageRetryTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private static readonly TimeSpan Backoff = TimeSpan.FromSeconds(2);
    private readonly ServiceProvider _services = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("retry")));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero));

    public void Dispose() => _services.Dispose();

    private UsageRetry NewRetry(CancellationToken abort = default) =>
        new(new UsageWriterOptions { MaxAttempts = 3, InitialBackoff = Backoff, MaxBackoff = TimeSpan.FromSeconds(10) }, _time, NullLogger.Instance, abort);

    [Fact]
    public async Task ExecuteAsync_TransientStorageFailure_RetriedAfterBackoffAndRowsArrive()
    {
        var ct = TestContext.Current.CancellationToken;
        var table = await _services.GetRequiredService<RelayTables>().GetAsync(RelayTables.Usage, ct).AsTask().WaitAsync(Timeout, ct);
        var rows = new[] { UsageWriter.ToRow(Record("req-1")).ToEntity(), UsageWriter.ToRow(Record("req-2")).ToEntity() };
        var attempts = 0;

        var run = NewRetry(ct).ExecuteAsync(
            async (client, _) =>
            {
                if (Interlocked.Increment(ref attempts) == 1)
                {
                    throw new RequestFailedException(503, "The server is busy.", "ServerBusy", null);
                }

                await client.SubmitTransactionAsync(rows.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e)), CancellationToken.None);
            },
            table,
            rows.Length).AsTask();

        // The first attempt failed and the retry waits on the (fake) clock: nothing more happens until it moves.
        Assert.Equal(1, Volatile.Read(ref attempts));
        _time.Advance(Backoff - TimeSpan.FromMilliseconds(1));
        Assert.False(run.IsCompleted);
        Assert.Equal(1, Volatile.Read(ref attempts));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await run.WaitAsync(Timeout, ct);

        Assert.Equal(2, attempts);
        var stored = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(cancellationToken: ct))
        {
            stored.Add(row.GetString("RequestId"));
        }

        Assert.Equal(new[] { "req-1", "req-2" }, stored.Order());
    }

    [Fact]
    public async Task ExecuteAsync_OutageLongerThanTheOldAttemptCap_RowsStillArriveWithinTheMaxBackoffOfStorageReturning()
    {
        // 12 failed attempts: more than the 8 after which the writer used to drop the batch (about 25 s of outage).
        var ct = TestContext.Current.CancellationToken;
        var table = await _services.GetRequiredService<RelayTables>().GetAsync(RelayTables.Usage, ct).AsTask().WaitAsync(Timeout, ct);
        var rows = new[] { UsageWriter.ToRow(Record("req-long-outage")).ToEntity() };
        var options = new UsageWriterOptions();
        var attempts = 0;
        var run = new UsageRetry(options, _time, NullLogger.Instance, ct).ExecuteAsync(
            async (client, _) =>
            {
                if (Interlocked.Increment(ref attempts) <= 12)
                {
                    throw new AggregateException(new RequestFailedException(0, "Connection refused"));
                }

                await client.SubmitTransactionAsync(rows.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e)), CancellationToken.None);
            },
            table,
            rows.Length).AsTask();

        while (!run.IsCompleted && Volatile.Read(ref attempts) <= 12)
        {
            var before = Volatile.Read(ref attempts);
            _time.Advance(options.MaxBackoff); // never more than this between attempts
            await Eventually.ValueAsync("the next attempt", _ => Task.FromResult(Volatile.Read(ref attempts)), now => now > before || run.IsCompleted);
        }

        await run.WaitAsync(Timeout, ct);
        Assert.Equal(13, attempts);
        var stored = await table.GetEntityAsync<TableEntity>(rows[0].PartitionKey, rows[0].RowKey, cancellationToken: ct);
        Assert.Equal("req-long-outage", stored.Value.GetString("RequestId"));
    }

    [Fact]
    public async Task ExecuteAsync_AttemptNeitherAnswersNorFails_CancelledAtItsDeadlineAndRetried()
    {
        // A pooled connection that neither answers nor closes: the attempt waits on its token, nothing else ends it.
        var ct = TestContext.Current.CancellationToken;
        var options = new UsageWriterOptions { AttemptTimeout = TimeSpan.FromSeconds(5), InitialBackoff = Backoff };
        var attempts = 0;
        var cancelledAtDeadline = false;
        var run = new UsageRetry(options, _time, NullLogger.Instance, ct).ExecuteAsync<int>(
            async (_, attemptToken) =>
            {
                if (Interlocked.Increment(ref attempts) == 1)
                {
                    try
                    {
                        await Task.Delay(System.Threading.Timeout.InfiniteTimeSpan, attemptToken);
                    }
                    catch (OperationCanceledException)
                    {
                        cancelledAtDeadline = true;
                        throw;
                    }
                }
            },
            0,
            1).AsTask();

        _time.Advance(options.AttemptTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(run.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.ValueAsync("the stuck attempt cancelled", _ => Task.FromResult(Volatile.Read(ref cancelledAtDeadline)), cancelled => cancelled);
        Assert.Equal(1, Volatile.Read(ref attempts));

        // The retry's back-off is scheduled once the cancellation has reached Polly: move the clock until it runs.
        await Eventually.ValueAsync("the retry after the back-off", _ =>
        {
            _time.Advance(Backoff);
            return Task.FromResult(run.IsCompleted);
        }, completed => completed);
        await run.WaitAsync(Timeout, ct);

        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task ExecuteAsync_SdkGivesUpOnABareSocketError_RetriedNotDropped()
    {
        // What the SDK threw when the connection was reset under a transaction: its own retries ended on a bare
        // SocketException (ENOTCONN), which the writer took for a permanent failure and dropped the batch.
        var ct = TestContext.Current.CancellationToken;
        var attempts = 0;
        var run = NewRetry(ct).ExecuteAsync<int>(
            (_, _) => Interlocked.Increment(ref attempts) == 1
                ? ValueTask.FromException(new AggregateException(
                    new RequestFailedException(0, "Broken pipe"),
                    new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.NotConnected)))
                : ValueTask.CompletedTask,
            0,
            1).AsTask();

        Assert.Equal(1, Volatile.Read(ref attempts));
        _time.Advance(Backoff);
        await run.WaitAsync(Timeout, ct);

        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task ExecuteAsync_NonTransientFailure_ThrownWithoutRetry()
    {
        var ct = TestContext.Current.CancellationToken;
        var attempts = 0;

        var thrown = await Assert.ThrowsAsync<RequestFailedException>(() => NewRetry(ct).ExecuteAsync<int>(
            (_, _) =>
            {
                Interlocked.Increment(ref attempts);
                throw new RequestFailedException(400, "Bad request.", "InvalidInput", null);
            },
            0,
            1).AsTask().WaitAsync(Timeout, ct));

        Assert.Equal(400, thrown.Status);
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task ExecuteAsync_AbortedDuringBackoff_OneLastAttemptWithoutWaiting()
    {
        var ct = TestContext.Current.CancellationToken;
        using var abort = new CancellationTokenSource();
        var attempts = 0;

        var run = NewRetry(abort.Token).ExecuteAsync<int>(
            (_, _) => Interlocked.Increment(ref attempts) == 1
                ? ValueTask.FromException(new RequestFailedException(503, "The server is busy.", "ServerBusy", null))
                : ValueTask.CompletedTask,
            0,
            1).AsTask();
        Assert.False(run.IsCompleted);

        await abort.CancelAsync();
        await run.WaitAsync(Timeout, ct);

        Assert.Equal(2, attempts);
    }

    private static UsageRecord Record(string requestId) => new()
    {
        RequestId = requestId,
        KeyId = "key_0000000000000001",
        Owner = "team-a",
        AccountId = "acct_0000000000000001",
        ClientApi = "openai-chat",
        RequestedModel = "gpt-4o",
        UpstreamModel = "gpt-4o",
        Provider = "openai",
        Status = 200,
        Usage = new Usage { InputTokens = 1, OutputTokens = 2 },
        LatencyMs = 1,
        Timestamp = new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero),
    };
}
