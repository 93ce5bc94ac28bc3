using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Errors;
using Serverless.Relay.Failover;
using Serverless.Relay.Telemetry;
using Serverless.Tests.Accounts;
using Xunit;

namespace Serverless.Tests.Failover;

/// <summary>
/// What ends the attempts other than an upstream: a client that leaves before the first byte (issue 11) ends them at
/// once with the executor's own cancellation. It never becomes an outcome inside the Polly pipeline, which would answer
/// it with a new exception whose stack trace a native build formats there and then (bench/ANALYSIS.md, "Clients that
/// leave"). A bug in an attempt is thrown as it was. Neither is held against the account.
/// </summary>
public sealed class FailoverExecutorTests : IDisposable
{
    private readonly PoolTestKit _kit = new();
    private readonly Meter _meter = new("failover-executor-tests");
    private readonly FailoverExecutor _executor;
    private readonly SchedulePlan _plan;

    public FailoverExecutorTests()
    {
        _executor = new FailoverExecutor(Options.Create(new FailoverOptions()), _kit.Health, new RelayMetrics(_meter), _kit.Time, NullLogger<FailoverExecutor>.Instance);
        _plan = new SchedulePlan([new Candidate(PoolTestKit.Account("a"), "m"), new Candidate(PoolTestKit.Account("b"), "m")], 2, []);
    }

    [Fact]
    public async Task ExecuteAsync_ClientLeavesDuringAnAttempt_ThrowsTheClientsCancellationAndTriesNothingElse()
    {
        using var client = new CancellationTokenSource();
        var called = new List<string>();
        var calling = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = _executor.ExecuteAsync(
            _plan,
            async (candidate, token) =>
            {
                called.Add(candidate.Account.Id);
                calling.TrySetResult();
                await Task.Delay(Timeout.Infinite, token);
                throw new InvalidOperationException("the attempt's token never fired");
            },
            client.Token).AsTask();
        await calling.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        await client.CancelAsync();

        var thrown = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        // The executor's own, for the client's token: Polly's rewrite would carry the linked token and wrap the attempt's.
        Assert.Equal(client.Token, thrown.CancellationToken);
        Assert.Null(thrown.InnerException);
        Assert.Equal(["a"], called);
        Assert.Equal(0, _kit.Health.InFlight("a"));
        var health = _kit.Health.View("a");
        Assert.Equal(AccountStatus.Available, health.Status);
        Assert.Null(health.LastError);
    }

    [Fact]
    public async Task ExecuteAsync_ClientAlreadyGone_CallsNoAccount()
    {
        using var client = new CancellationTokenSource();
        await client.CancelAsync();
        var calls = 0;

        var thrown = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _executor.ExecuteAsync(
            _plan,
            (candidate, token) =>
            {
                calls++;
                return ValueTask.FromResult(UpstreamAttempt.Broken(candidate, FailureKind.Timeout, new RelayError(ErrorKind.Timeout, "unused")));
            },
            client.Token).AsTask());

        Assert.Equal(client.Token, thrown.CancellationToken);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task ExecuteAsync_AttemptThrowsABug_ThrowsItAsItWasAndTriesNothingElse()
    {
        var bug = new InvalidOperationException("a bug in a provider");
        var called = new List<string>();

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => _executor.ExecuteAsync(
            _plan,
            (candidate, token) =>
            {
                called.Add(candidate.Account.Id);
                throw bug;
            },
            CancellationToken.None).AsTask());

        Assert.Same(bug, thrown);
        Assert.Equal(["a"], called);
        Assert.Equal(0, _kit.Health.InFlight("a"));
        Assert.Null(_kit.Health.View("a").LastError);
    }

    public void Dispose() => _meter.Dispose();
}
