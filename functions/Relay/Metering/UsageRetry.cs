using Azure;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Serverless.Relay.Metering;

/// <summary>
/// The usage writer's retry of a storage write (a Polly v8 pipeline): transient failures are retried with exponential
/// back-off from <see cref="UsageWriterOptions.InitialBackoff"/> up to <see cref="UsageWriterOptions.MaxBackoff"/>, until
/// storage answers (or <see cref="UsageWriterOptions.MaxAttempts"/> when set); anything else fails at once. Once the host's shutdown
/// timeout fires (<c>abort</c>), waits end and there is one last attempt without retries.
/// Every attempt has its own deadline (<see cref="UsageWriterOptions.AttemptTimeout"/>): its token cancels the SDK call,
/// which makes HttpClient drop that connection, so a connection that neither answers nor closes costs one deadline and
/// is not used again (without it the SDK waited its network timeout on each of its own tries, 3 × 10 s, per attempt).
/// </summary>
internal sealed partial class UsageRetry
{
    private static readonly ResiliencePropertyKey<int> RowCount = new("usage.rows");

    private readonly UsageWriterOptions _options;
    private readonly ILogger _logger;
    private ResiliencePipeline? _pipeline;
    private readonly CancellationToken _abort;
    private readonly TimeProvider _time;

    public UsageRetry(UsageWriterOptions options, TimeProvider time, ILogger logger, CancellationToken abort)
    {
        _abort = abort;
        _time = time;
        _options = options;
        _logger = logger;
    }

    /// <summary>
    /// Built on the first write rather than at start, for the reason <c>FailoverExecutor</c>'s is: Polly validates
    /// each strategy's options by reflection as it adds it, which only the start-up would wait for. The options were
    /// validated at start (<see cref="UsageWriterOptionsValidator"/>), within what Polly accepts.
    /// </summary>
    private ResiliencePipeline Pipeline => _pipeline ?? LazyInitializer.EnsureInitialized(ref _pipeline, BuildPipeline);

    private ResiliencePipeline BuildPipeline()
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = _time };
        if (_options.MaxAttempts is not 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = _options.MaxAttempts is { } attempts ? attempts - 1 : int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                // NOTE: no jitter: one writer per instance, and a fixed schedule keeps the fake-clock tests exact.
                UseJitter = false,
                Delay = _options.InitialBackoff,
                MaxDelay = _options.MaxBackoff,
                ShouldHandle = args => new ValueTask<bool>(args.Outcome.Exception is { } e && IsTransient(e) && !_abort.IsCancellationRequested),
                OnRetry = args =>
                {
                    Log.WriteRetrying(_logger, args.Context.Properties.GetValue(RowCount, 0), args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception!);
                    return default;
                },
            });
        }

        // Inside the retry: each attempt gets a fresh deadline.
        builder.AddTimeout(_options.AttemptTimeout);
        return builder.Build();
    }

    /// <summary>
    /// Runs <paramref name="write"/> (of <paramref name="rows"/> rows, for the log) until it succeeds, fails for good
    /// (the exception is thrown), or the attempts run out (the last exception is thrown). <paramref name="write"/> must
    /// pass its token to storage: it fires at the attempt's deadline.
    /// </summary>
    public async ValueTask ExecuteAsync<TState>(Func<TState, CancellationToken, ValueTask> write, TState state, int rows)
    {
        var context = ResilienceContextPool.Shared.Get(_abort);
        context.Properties.Set(RowCount, rows);
        try
        {
            await Pipeline.ExecuteAsync(static (c, s) => s.write(s.state, c.CancellationToken), context, (write, state)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Shutdown timeout during a wait (or before the first attempt): one last attempt, then give up.
            using var deadline = new CancellationTokenSource(_options.AttemptTimeout, _time);
            await write(state, deadline.Token).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Storage failures worth another try: the service busy or failing, throttling, the network.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
        // NOTE: SocketException too: on a connection reset mid-transaction the SDK can surface a bare one (ENOTCONN,
        // "Transport endpoint is not connected") that it does not retry itself; classed as permanent, it dropped the
        // whole batch once storage came back (the flaky StorageOutageTests: 0 of 3 rows).
        HttpRequestException or IOException or System.Net.Sockets.SocketException or TimeoutException => true,
        TimeoutRejectedException => true, // the attempt's own deadline
        OperationCanceledException => true, // the SDK's network timeout
        AggregateException a => a.InnerExceptions.All(IsTransient), // the SDK's "retry failed after N tries": rows were dropped on a refused connection
        _ => false,
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Writing {Count} usage rows failed (attempt {Attempt}); retrying in {Delay}")]
        public static partial void WriteRetrying(ILogger logger, int count, int attempt, TimeSpan delay, Exception exception);
    }
}
