namespace Serverless.Relay.Functions;

/// <summary>What the Functions host passes a timer function (its <c>ScheduleStatus</c> and <c>IsPastDue</c>).</summary>
internal sealed record TimerInfo(bool IsPastDue, DateTimeOffset? Last, DateTimeOffset? Next);

/// <summary>
/// The handler entry point of one timer-triggered function, bound by name to its <c>function.json</c>. Behind the
/// Functions host it is invoked through the JSON invocation protocol; in local mode the handler fires it on the
/// function's NCRONTAB schedule.
/// </summary>
internal interface ITimerFunction
{
    string Name { get; }

    Task RunAsync(TimerInfo timer, CancellationToken cancellationToken);
}
