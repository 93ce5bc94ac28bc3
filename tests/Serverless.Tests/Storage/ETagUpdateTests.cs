using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Storage;
using Xunit;

namespace Serverless.Tests.Storage;

public sealed class ETagUpdateTests
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;

    [Fact]
    public async Task RunAsync_ConflictThenSuccess_RereadsAndReturnsTheResult()
    {
        var ct = TestContext.Current.CancellationToken;
        var reads = 0;
        var writes = 0;

        var result = await ETagUpdate.RunAsync(
            _ => Task.FromResult<TableEntity?>(new TableEntity("p", "r") { ["Read"] = Interlocked.Increment(ref reads) }),
            (entity, _) => Interlocked.Increment(ref writes) switch
            {
                1 => throw new RequestFailedException(412, "Precondition failed.", "UpdateConditionNotSatisfied", null),
                2 => Task.FromResult<ETagWrite<int>>(default), // lost the race, seen without an exception
                _ => Task.FromResult(ETagWrite.Done(entity!.GetInt32("Read")!.Value)),
            },
            ct).WaitAsync(Timeout, ct);

        Assert.Equal(3, result);
        Assert.Equal(3, reads);
    }

    [Theory]
    [InlineData(409)]
    [InlineData(412)]
    public async Task RunAsync_ConflictEveryTime_ThrowsTheConflictAfterMaxAttempts(int status)
    {
        var ct = TestContext.Current.CancellationToken;
        var writes = 0;

        var thrown = await Assert.ThrowsAsync<RequestFailedException>(() => ETagUpdate.RunAsync<int>(
            _ => Task.FromResult<TableEntity?>(null),
            (_, _) =>
            {
                Interlocked.Increment(ref writes);
                throw new RequestFailedException(status, "Conflict.", "Conflict", null);
            },
            ct,
            maxAttempts: 4).WaitAsync(Timeout, ct));

        Assert.Equal(status, thrown.Status);
        Assert.Equal(4, writes);
    }

    [Fact]
    public async Task RunAsync_ConflictValueEveryTime_Throws412AfterMaxAttempts()
    {
        var ct = TestContext.Current.CancellationToken;
        var writes = 0;

        var thrown = await Assert.ThrowsAsync<RequestFailedException>(() => ETagUpdate.RunAsync<int>(
            _ => Task.FromResult<TableEntity?>(null),
            (_, _) =>
            {
                Interlocked.Increment(ref writes);
                return Task.FromResult<ETagWrite<int>>(default);
            },
            ct,
            maxAttempts: 3).WaitAsync(Timeout, ct));

        Assert.Equal(412, thrown.Status);
        Assert.Equal(3, writes);
    }

    [Fact]
    public async Task RunAsync_OtherFailure_ThrownAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var writes = 0;

        var thrown = await Assert.ThrowsAsync<RequestFailedException>(() => ETagUpdate.RunAsync<int>(
            _ => Task.FromResult<TableEntity?>(null),
            (_, _) =>
            {
                Interlocked.Increment(ref writes);
                throw new RequestFailedException(503, "Server busy.", "ServerBusy", null);
            },
            ct).WaitAsync(Timeout, ct));

        Assert.Equal(503, thrown.Status);
        Assert.Equal(1, writes);
    }
}
