using Azure;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Serverless.Relay.Metering;

/// <summary>
/// The usage writer's retry of a storage write (a Polly v8 pipeline): transient failures are retried with exponential
/// back-off from <see cref="UsageWriterOptions.InitialBackoff"/> up to <see cref="UsageWriterOptions.MaxBackoff"/>, until
/// storage answers (or <see cref="UsageWriterOptions.MaxAttempts"/> when set); anything else fails at once. Once the host's shutdown
/// timeout fires (<c>abort</c>), waits end and there is one last attempt without retries.
/// </summary>
internal sealed partial class UsageRetry
{
    private static readonly ResiliencePropertyKey<int> RowCount = new("usage.rows");

    private readonly ResiliencePipeline _pipeline;
    private readonly CancellationToken _abort;

    public UsageRetry(UsageWriterOptions options, TimeProvider time, ILogger logger, CancellationToken abort)
    {
        _abort = abort;
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (options.MaxAttempts is not 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxAttempts is { } attempts ? attempts - 1 : int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                // NOTE: no jitter: one writer per instance, and a fixed schedule keeps the fake-clock tests exact.
                UseJitter = false,
                Delay = options.InitialBackoff,
                MaxDelay = options.MaxBackoff,
                ShouldHandle = args => new ValueTask<bool>(args.Outcome.Exception is { } e && IsTransient(e) && !abort.IsCancellationRequested),
                OnRetry = args =>
                {
                    Log.WriteRetrying(logger, args.Context.Properties.GetValue(RowCount, 0), args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception!);
                    return default;
                },
            });
        }

        _pipeline = builder.Build();
    }

    /// <summary>
    /// Runs <paramref name="write"/> (of <paramref name="rows"/> rows, for the log) until it succeeds, fails for good
    /// (the exception is thrown), or the attempts run out (the last exception is thrown).
    /// </summary>
    public async ValueTask ExecuteAsync<TState>(Func<TState, ValueTask> write, TState state, int rows)
    {
        var context = ResilienceContextPool.Shared.Get(_abort);
        context.Properties.Set(RowCount, rows);
        try
        {
            await _pipeline.ExecuteAsync(static (_, s) => s.write(s.state), context, (write, state)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Shutdown timeout during a wait (or before the first attempt): one last attempt, then give up.
            await write(state).ConfigureAwait(false);
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
        HttpRequestException or IOException or TimeoutException => true,
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
