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
    public static void Write(HttpResponse response, WireFormat format, KeyLease lease, DateTimeOffset now)
    {
        if (lease.Statuses.Count == 0 || format == WireFormat.Gemini)
        {
            return;
        }

        Write(response, format, Tightest(lease.Statuses, LimitMetric.Requests), "requests", now);
        Write(response, format, Tightest(lease.Statuses, LimitMetric.Tokens), "tokens", now);
        if (format == WireFormat.Anthropic)
        {
            // Anthropic also reports input and output token limits apart.
            Write(response, format, Tightest(lease.Statuses, LimitMetric.InputTokens), "input-tokens", now);
            Write(response, format, Tightest(lease.Statuses, LimitMetric.OutputTokens), "output-tokens", now);
        }
    }

    private static void Write(HttpResponse response, WireFormat format, LimitStatus? status, string metric, DateTimeOffset now)
    {
        if (status is not { } s)
        {
            return;
        }

        var headers = response.Headers;
        var limit = s.Rule.Amount.ToString(CultureInfo.InvariantCulture);
        var remaining = s.Remaining.ToString(CultureInfo.InvariantCulture);
        if (format == WireFormat.Anthropic)
        {
            headers["anthropic-ratelimit-" + metric + "-limit"] = limit;
            headers["anthropic-ratelimit-" + metric + "-remaining"] = remaining;
            if (s.ResetsAt is { } resetsAt)
            {
                headers["anthropic-ratelimit-" + metric + "-reset"] = resetsAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            }
        }
        else
        {
            headers["x-ratelimit-limit-" + metric] = limit;
            headers["x-ratelimit-remaining-" + metric] = remaining;
            if (s.ResetsAt is { } resetsAt)
            {
                headers["x-ratelimit-reset-" + metric] = Duration(resetsAt - now);
            }
        }
    }

    private static LimitStatus? Tightest(IReadOnlyList<LimitStatus> statuses, LimitMetric metric)
    {
        LimitStatus? tightest = null;
        foreach (var status in statuses)
        {
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
        var (h, m, sec) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        return h > 0 ? $"{h}h{m}m{sec}s" : m > 0 ? $"{m}m{sec}s" : $"{sec}s";
    }
}
