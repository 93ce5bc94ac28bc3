using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Sessions;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Sessions;
using Xunit;

namespace Serverless.Tests.Storage;

/// <summary>
/// Callers that miss one cached value together share one read of it (<see cref="SharedReads{TKey, TValue}"/>): a
/// burst after an idle spell read each row once per request, and held its requests for the hot-path deadline when
/// storage could not answer them all (bench/ANALYSIS.md, "The c=256 tail").
/// </summary>
public sealed class SharedReadsTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;

    [Fact]
    public async Task ReadAsync_ConcurrentCallersOfOneKey_ShareOneRead()
    {
        var ct = TestContext.Current.CancellationToken;
        var reads = new SharedReads<string, int>(StringComparer.Ordinal);
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;

        var callers = Enumerable.Range(0, 20).Select(_ => reads.ReadAsync("row", _ => { Interlocked.Increment(ref started); return gate.Task; }, ct)).ToList();
        gate.SetResult(42);
        var values = await Task.WhenAll(callers).WaitAsync(Timeout, ct);

        Assert.Equal(1, started);
        Assert.All(values, value => Assert.Equal(42, value));
    }

    [Fact]
    public async Task ReadAsync_AfterTheReadEnded_ReadsAgainAndOtherKeysReadApart()
    {
        var ct = TestContext.Current.CancellationToken;
        var reads = new SharedReads<string, string>(StringComparer.Ordinal);
        var started = new List<string>();
        Task<string> Read(string key)
        {
            lock (started)
            {
                started.Add(key);
            }

            return Task.FromResult(key + started.Count);
        }

        var first = await reads.ReadAsync("a", Read, ct);
        var second = await reads.ReadAsync("a", Read, ct);
        var other = await reads.ReadAsync("b", Read, ct);

        Assert.Equal(["a", "a", "b"], started);
        Assert.Equal(("a1", "a2", "b3"), (first, second, other));
    }

    [Fact]
    public async Task ReadAsync_OneCallerCancelled_TheReadGoesOnForTheOthers()
    {
        var ct = TestContext.Current.CancellationToken;
        var reads = new SharedReads<string, int>(StringComparer.Ordinal);
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var leaving = new CancellationTokenSource();

        var gone = reads.ReadAsync("row", _ => gate.Task, leaving.Token);
        var staying = reads.ReadAsync("row", _ => gate.Task, ct);
        await leaving.CancelAsync();
        gate.SetResult(7);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone.WaitAsync(Timeout, ct));
        Assert.Equal(7, await staying.WaitAsync(Timeout, ct));
    }

    [Fact]
    public async Task ReadAsync_ReadFails_EveryWaiterSeesItAndTheNextCallReadsAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        var reads = new SharedReads<string, int>(StringComparer.Ordinal);
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        var waiters = Enumerable.Range(0, 3).Select(_ => reads.ReadAsync("row", _ => gate.Task, ct)).ToList();
        gate.SetException(new InvalidOperationException("storage said no"));

        foreach (var waiter in waiters)
        {
            Assert.Equal("storage said no", (await Assert.ThrowsAsync<InvalidOperationException>(() => waiter.WaitAsync(Timeout, ct))).Message);
        }

        Assert.Equal(5, await reads.ReadAsync("row", _ => Task.FromResult(5), ct).WaitAsync(Timeout, ct));
    }

    /// <summary>
    /// Fifty requests of one new session at once, with storage hanging: one read reaches storage (one connection, where
    /// each read of its own opened one), and every request goes on without an account after the one deadline.
    /// </summary>
    [Fact]
    public async Task SessionBindings_BurstOfOneSessionWhileStorageHangs_OneReadReachesStorage()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var proxy = StorageProxy.Start(azurite.TablePort);
        var settings = StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("shared"));
        settings["AzureWebJobsStorage"] = proxy.Through(azurite.ConnectionString);
        settings["Storage:HotPathTimeout"] = "00:00:02";
        await using var services = StorageTestKit.Services(settings, TimeProvider.System);
        var sessions = new SessionBindings(services.GetRequiredService<RelayTables>(), services.GetRequiredService<HotPathStorage>(), Options.Create(new SessionOptions()), TimeProvider.System, NullLogger<SessionBindings>.Instance);
        Assert.Null((await sessions.ResolveAsync("warm-up-session", ct).AsTask().WaitAsync(Timeout, ct))?.AccountId); // creates the table

        proxy.Mode = StorageMode.Hang;
        var before = proxy.Connections;
        var burst = Enumerable.Range(0, 50).Select(_ => sessions.ResolveAsync("a-new-session", ct).AsTask()).ToList();
        var bindings = await Task.WhenAll(burst).WaitAsync(Timeout, ct);

        Assert.All(bindings, binding => Assert.Null(binding.AccountId));
        Assert.Equal(1, proxy.Connections - before);
    }
}
