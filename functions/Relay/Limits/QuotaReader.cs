using System.Text.Json;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Limits;

/// <summary>One limit of a key with where it stands now, from the shared counters.</summary>
/// <param name="Used">Use in the current window: what every instance has reported (at most one flush interval old, or one quiet sync interval while the key is below half the limit) plus what this instance has not reported yet.</param>
/// <param name="Leased">Allowance instances hold right now; for <c>maxConcurrent</c>, the slots taken or reserved.</param>
internal sealed record QuotaLine(LimitRule Rule, long Used, long Leased, DateTimeOffset? ResetsAt)
{
    public long Remaining => Math.Max(0, Rule.Amount - Used);
}

/// <summary>
/// Reads a key's counters for the quota API (admin) and the key-info API (the key itself), with what this instance has
/// spent and not reported yet: exact on one instance, and behind by other instances' unreported use only.
/// </summary>
internal sealed class QuotaReader(ICounterStore store, TimeProvider time, KeyLimiter limiter)
{
    public async Task<IReadOnlyList<QuotaLine>> ReadAsync(ClientKey key, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lines = new List<QuotaLine>(key.Limits.Rules.Count);
        foreach (var rule in key.Limits.Rules)
        {
            var (start, resetsAt) = LimitWindows.PeriodOf(rule.Window, now);
            var reading = await store.ReadAsync(key.Id, LimitWindows.CounterName(rule, start), now, cancellationToken).ConfigureAwait(false);
            lines.Add(new QuotaLine(rule, (reading?.Used ?? 0) + limiter.Unreported(key.Id, rule, start), reading?.Leased ?? 0, resetsAt));
        }

        return lines;
    }

    /// <summary>Writes <c>[{"limit", "window", "limitValue", "used", "remaining", "resetsAt", "unit"}]</c>; costs in USD.</summary>
    public static void Write(Utf8JsonWriter writer, string name, IReadOnlyList<QuotaLine> lines)
    {
        writer.WriteStartArray(name);
        foreach (var line in lines)
        {
            var rule = line.Rule;
            writer.WriteStartObject();
            writer.WriteString("limit", rule.FieldName);
            writer.WriteString("metric", LimitWindows.MetricName(rule.Metric));
            writer.WriteString("window", LimitWindows.WindowName(rule.Window));
            if (rule.Metric == LimitMetric.Cost)
            {
                writer.WriteString("unit", "USD");
                writer.WriteNumber("amount", KeyLimits.ToUsd(rule.Amount));
                writer.WriteNumber("used", KeyLimits.ToUsd(line.Used));
                writer.WriteNumber("remaining", KeyLimits.ToUsd(line.Remaining));
            }
            else
            {
                writer.WriteString("unit", LimitWindows.MetricName(rule.Metric));
                writer.WriteNumber("amount", rule.Amount);
                if (rule.Metric == LimitMetric.Concurrency)
                {
                    writer.WriteNumber("inFlightOrReserved", line.Leased);
                }
                else
                {
                    writer.WriteNumber("used", line.Used);
                    writer.WriteNumber("remaining", line.Remaining);
                }
            }

            if (line.ResetsAt is { } resetsAt)
            {
                writer.WriteString("resetsAt", resetsAt);
            }
            else
            {
                writer.WriteNull("resetsAt");
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}
