using System.Globalization;

namespace Serverless.Relay.Limits;

/// <summary>Fixed UTC windows: which period a moment falls in (the counter's name) and when that period ends.</summary>
internal static class LimitWindows
{
    public static (string Period, DateTimeOffset? ResetsAt) PeriodOf(LimitWindow window, DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        switch (window)
        {
            case LimitWindow.Minute:
                var minute = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute, 0, TimeSpan.Zero);
                return (minute.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture), minute.AddMinutes(1));
            case LimitWindow.Day:
                var day = new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
                return (day.ToString("yyyyMMdd", CultureInfo.InvariantCulture), day.AddDays(1));
            case LimitWindow.Month:
                var month = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
                return (month.ToString("yyyyMM", CultureInfo.InvariantCulture), month.AddMonths(1));
            default:
                return ("total", null);
        }
    }

    /// <summary>The counter's row name, e.g. <c>tokens-day-20261123</c> or <c>cost-total-total</c>.</summary>
    public static string CounterName(LimitRule rule, string period) =>
        string.Concat(MetricName(rule.Metric), "-", WindowName(rule.Window), "-", period);

    public static string MetricName(LimitMetric metric) => metric switch
    {
        LimitMetric.Requests => "requests",
        LimitMetric.Tokens => "tokens",
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
