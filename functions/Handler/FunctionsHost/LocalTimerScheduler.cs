using NCrontab;
using Serverless.Relay.Functions;

namespace Serverless.Handler.FunctionsHost;

/// <summary>One timer function and its schedule, from its <c>function.json</c>.</summary>
internal sealed record TimerRegistration(string FunctionName, CrontabSchedule Schedule);

/// <summary>
/// Local mode plays the Functions host's part for timers: each timer function fires on the NCRONTAB schedule of its
/// <c>function.json</c> (six fields, seconds first; <c>%Setting%</c> reads an app setting), in UTC. Runs never
/// overlap for one function; a failed run is logged and the schedule goes on.
/// </summary>
internal sealed partial class LocalTimerScheduler(
    IReadOnlyList<TimerRegistration> registrations,
    IEnumerable<ITimerFunction> functions,
    TimeProvider time,
    ILogger<LocalTimerScheduler> logger) : BackgroundService
{
    /// <summary>Parses a <c>function.json</c> schedule; <c>%Name%</c> is replaced by that app setting.</summary>
    public static CrontabSchedule ParseSchedule(string schedule, IConfiguration configuration)
    {
        var expression = AppSettingExpression.Resolve(schedule, "schedule", configuration);
        return CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true })
            ?? throw new FunctionCatalogException($"'{expression}' is not a six-field NCRONTAB expression (second minute hour day month day-of-week)");
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var entries = functions.ToDictionary(f => f.Name, StringComparer.Ordinal);
        return Task.WhenAll(registrations.Select(r => RunScheduleAsync(r, entries[r.FunctionName], stoppingToken)));
    }

    private async Task RunScheduleAsync(TimerRegistration registration, ITimerFunction function, CancellationToken stoppingToken)
    {
        DateTimeOffset? last = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var next = new DateTimeOffset(registration.Schedule.GetNextOccurrence(now.UtcDateTime), TimeSpan.Zero);
            try
            {
                await Task.Delay(next - now, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var following = new DateTimeOffset(registration.Schedule.GetNextOccurrence(next.UtcDateTime), TimeSpan.Zero);
            try
            {
                await function.RunAsync(new TimerInfo(time.GetUtcNow() - next > TimeSpan.FromMinutes(1), last, following), stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.Failed(logger, registration.FunctionName, e);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            last = next;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "Timer function {Function} failed; its schedule goes on")]
        public static partial void Failed(ILogger logger, string function, Exception exception);
    }
}
