using System.Globalization;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Limits;

/// <summary>
/// The rate-limit headers each client API's own SDKs and tools read, on successes and refusals alike:
/// OpenAI <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c> (reset as a duration: <c>1s</c>, <c>6m0s</c>),
/// Anthropic <c>anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}</c> (reset as
/// an RFC 3339 time).
/// Gemini sends none (Google's API has none); every API gets <c>Retry-After</c> on a 429.
/// Of several windows on one metric (per minute and per day), the one with the least left is shown.
/// </summary>
internal static class LimitHeaders
{
    // NOTE: built once: a limited key's answer carries six of these names, and concatenating them cost six strings a request.
    private static readonly MetricHeaders[] OpenAI =
    [
        MetricHeaders.OpenAI(LimitMetric.Requests, "requests"),
        MetricHeaders.OpenAI(LimitMetric.Tokens, "tokens"),
    ];

    // Anthropic also reports input and output token limits apart.
    private static readonly MetricHeaders[] Anthropic =
    [
        MetricHeaders.Anthropic(LimitMetric.Requests, "requests"),
        MetricHeaders.Anthropic(LimitMetric.Tokens, "tokens"),
        MetricHeaders.Anthropic(LimitMetric.InputTokens, "input-tokens"),
        MetricHeaders.Anthropic(LimitMetric.OutputTokens, "output-tokens"),
    ];

    public static void Write(HttpResponse response, WireFormat format, KeyLease lease, DateTimeOffset now)
    {
        if (lease.Statuses.Count == 0 || format == WireFormat.Gemini)
        {
            return;
        }

        var anthropic = format == WireFormat.Anthropic;
        foreach (var names in anthropic ? Anthropic : OpenAI)
        {
            if (Tightest(lease.Statuses, names.Metric) is not { } status)
            {
                continue;
            }

            var headers = response.Headers;
            headers[names.Limit] = status.Rule.AmountText;
            headers[names.Remaining] = status.Remaining.ToString(CultureInfo.InvariantCulture);
            if (status.ResetsAt is { } resetsAt)
            {
                headers[names.Reset] = anthropic ? ResetTime(resetsAt) : Duration(resetsAt - now);
            }
        }
    }

    // Every request in a window resets at the same instant, so the time last written is nearly always the one needed
    // next; a custom format string is parsed anew on each use. One reference, so a reader sees a whole pair.
    private static ResetTimeText s_lastResetTime = new(DateTimeOffset.MinValue, "");

    private static string ResetTime(DateTimeOffset resetsAt)
    {
        var last = s_lastResetTime;
        if (last.At == resetsAt)
        {
            return last.Text;
        }

        last = new ResetTimeText(resetsAt, resetsAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        s_lastResetTime = last;
        return last.Text;
    }

    private static LimitStatus? Tightest(IReadOnlyList<LimitStatus> statuses, LimitMetric metric)
    {
        LimitStatus? tightest = null;

        // NOTE: indexed, not foreach: enumerating the interface would box an enumerator per metric and request.
        for (var i = 0; i < statuses.Count; i++)
        {
            var status = statuses[i];
            if (status.Rule.Metric == metric && (tightest is null || status.Remaining < tightest.Value.Remaining))
            {
                tightest = status;
            }
        }

        return tightest;
    }

    /// <summary>OpenAI's duration style: <c>120ms</c>, <c>17s</c>, <c>6m0s</c>, <c>2h0m0s</c> (whole seconds rounded up).</summary>
    internal static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.FromSeconds(1))
        {
            return Math.Max(0, (int)Math.Ceiling(span.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var seconds = (long)Math.Ceiling(span.TotalSeconds);
        return seconds < UnderAnHour.Length ? UnderAnHour[seconds] ??= Duration(seconds) : Duration(seconds);
    }

    // The per-minute windows' resets, made once each (a race writes the same text twice, harmlessly).
    private static readonly string?[] UnderAnHour = new string?[3600];

    private static string Duration(long seconds)
    {
        var (h, m, sec) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        return h > 0 ? $"{h}h{m}m{sec}s" : m > 0 ? $"{m}m{sec}s" : $"{sec}s";
    }

    private sealed record ResetTimeText(DateTimeOffset At, string Text);

    /// <summary>One metric's three header names in one client API.</summary>
    private sealed record MetricHeaders(LimitMetric Metric, string Limit, string Remaining, string Reset)
    {
        public static MetricHeaders OpenAI(LimitMetric metric, string name) =>
            new(metric, "x-ratelimit-limit-" + name, "x-ratelimit-remaining-" + name, "x-ratelimit-reset-" + name);

        public static MetricHeaders Anthropic(LimitMetric metric, string name) =>
            new(metric, "anthropic-ratelimit-" + name + "-limit", "anthropic-ratelimit-" + name + "-remaining", "anthropic-ratelimit-" + name + "-reset");
    }
}
