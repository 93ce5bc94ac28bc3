using System.Globalization;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Limits;

/// <summary>Fixed UTC windows: which period a moment falls in (the counter's name) and when that period ends.</summary>
internal static class LimitWindows
{
    /// <summary>The period <paramref name="now"/> falls in: its start (<see cref="DateTimeOffset.MinValue"/> for a total) and end. No allocation.</summary>
    public static (DateTimeOffset Start, DateTimeOffset? ResetsAt) PeriodOf(LimitWindow window, DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        switch (window)
        {
            case LimitWindow.Minute:
                var minute = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute, 0, TimeSpan.Zero);
                return (minute, minute.AddMinutes(1));
            case LimitWindow.Day:
                var day = new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
                return (day, day.AddDays(1));
            case LimitWindow.Month:
                var month = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
                return (month, month.AddMonths(1));
            default:
                return (DateTimeOffset.MinValue, null);
        }
    }

    /// <summary>A period's name in counter rows: <c>202611231534</c>, <c>20261123</c>, <c>202611</c> or <c>total</c>.</summary>
    public static string PeriodName(LimitWindow window, DateTimeOffset start) => window switch
    {
        LimitWindow.Minute => start.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture),
        LimitWindow.Day => start.ToString("yyyyMMdd", CultureInfo.InvariantCulture),
        LimitWindow.Month => start.ToString("yyyyMM", CultureInfo.InvariantCulture),
        _ => "total",
    };

    /// <summary>The counter's row name, e.g. <c>tokens-day-20261123</c> or <c>cost-total-total</c>.</summary>
    public static string CounterName(LimitRule rule, DateTimeOffset periodStart) =>
        string.Concat(MetricName(rule.Metric), "-", WindowName(rule.Window), "-", PeriodName(rule.Window, periodStart));

    public static string MetricName(LimitMetric metric) => metric switch
    {
        LimitMetric.Requests => "requests",
        LimitMetric.Tokens => "tokens",
        LimitMetric.InputTokens => "inputtokens",
        LimitMetric.OutputTokens => "outputtokens",
        LimitMetric.Cost => "cost",
        _ => "concurrency",
    };

    public static string WindowName(LimitWindow window) => window switch
    {
        LimitWindow.Minute => "minute",
        LimitWindow.Day => "day",
        LimitWindow.Month => "month",
        _ => "total",
    };
}
