using Microsoft.Extensions.Logging;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Limits;

/// <summary>A key was refused by a quota or budget (a daily or monthly token quota, a cost budget), for the first time in its window.</summary>
/// <param name="ResetsAt">When the window ends; null for a total budget, which lasts until an admin raises it.</param>
internal sealed record QuotaReached(string KeyId, LimitRule Rule, DateTimeOffset At, DateTimeOffset? ResetsAt);

/// <summary>
/// Where <see cref="KeyLimiter"/> reports a quota reached. Must not block: it is called on the request path. Every
/// registered one gets each event (register with <c>TryAddEnumerable</c>).
/// </summary>
internal interface IKeyLimitEvents
{
    void Raise(QuotaReached quotaReached);
}

/// <summary>
/// The <see cref="IKeyLimitEvents"/> the limiter raises to: each registered one in turn; one that throws is logged and
/// skipped, so it never fails the request being refused. NOTE: not itself registered, or resolving all would include it.
/// </summary>
internal sealed partial class KeyLimitEventSinks(IReadOnlyList<IKeyLimitEvents> sinks, ILogger<KeyLimitEventSinks> logger) : IKeyLimitEvents
{
    public void Raise(QuotaReached quotaReached)
    {
        foreach (var sink in sinks)
        {
            try
            {
                sink.Raise(quotaReached);
            }
            catch (Exception e)
            {
                Log.SinkFailed(logger, sink.GetType().Name, quotaReached.KeyId, e);
            }
        }
    }

    /// <summary>The limits a key can use up for a day, a month or for good: token quotas and cost budgets (not rates, not concurrency).</summary>
    public static bool IsQuota(LimitRule rule) =>
        rule.Metric is LimitMetric.Tokens or LimitMetric.InputTokens or LimitMetric.OutputTokens or LimitMetric.Cost
        && rule.Window is not LimitWindow.Minute;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1515, Level = LogLevel.Error, Message = "Key limit event sink {Sink} failed for key {KeyId}")]
        public static partial void SinkFailed(ILogger logger, string sink, string keyId, Exception exception);
    }
}
