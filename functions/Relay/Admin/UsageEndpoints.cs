using System.Text.Json;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Metering;

namespace Serverless.Relay.Admin;

/// <summary><c>usage</c>: requests, errors, tokens, cost and latency per group, from the usage writer's hourly totals.</summary>
internal sealed class UsageEndpoints(UsageTotals usageTotals, TimeProvider time) : IAdminEndpointGroup
{
    private const int MaxUsageDays = 366;
    private const int DefaultUsageDays = 30;

    /// <summary>The groupings <c>groupBy</c> names, in the order the error message and the OpenAPI document list them.</summary>
    private static readonly (string Name, Func<UsageTotal, string> Of)[] Groupings =
    [
        ("key", t => t.KeyId),
        ("owner", t => t.Owner ?? ""),
        ("model", t => t.Model),
        ("account", t => t.AccountId),
        ("day", t => t.Hour.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
        ("hour", t => t.Hour.ToString("yyyy-MM-dd'T'HH':00Z'", System.Globalization.CultureInfo.InvariantCulture)),
    ];

    public static readonly string[] GroupByNames = [.. Groupings.Select(g => g.Name)];

    public void Map(AdminRouteGroup group) => group.MapGroup("usage")
        .MapGet("", GetAsync).Documented(new("Requests, errors, tokens, cost and latency percentiles per group, from the hourly totals")
        {
            Response = AdminSchemas.Usage,
            Query =
            [
                new("from", ApiSchema.String("date"), "First day (UTC), yyyy-MM-dd; default 30 days before to."),
                new("to", ApiSchema.String("date"), "Last day, included; default today."),
                new("groupBy", ApiSchema.OneOf(GroupByNames), "Default key."),
                new("keyId", ApiSchema.String(), "Only this key's requests."),
            ],
        });

    /// <summary>
    /// <c>GET usage?from=yyyy-MM-dd&amp;to=yyyy-MM-dd&amp;groupBy=key|owner|model|account|day|hour&amp;keyId=</c>: requests,
    /// errors, tokens, cost and latency percentiles per group, from the hourly totals the usage writer keeps (never a
    /// scan of request rows). Default: the last 30 days through today, grouped by key.
    /// </summary>
    private async Task<AdminResult> GetAsync(AdminCall call)
    {
        var query = call.Query;
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var errors = new FieldErrors();
        var to = ParseDate(query["to"], "to", today, errors);
        var from = ParseDate(query["from"], "from", to.AddDays(1 - DefaultUsageDays), errors);
        var keyId = AdminFields.QueryKeyId(query, errors);

        var groupBy = query["groupBy"].ToString() is { Length: > 0 } g ? g : "key";
        var group = Groupings.FirstOrDefault(grouping => grouping.Name == groupBy).Of;
        if (group is null)
        {
            errors.Add("groupBy", "groupBy must be one of " + string.Join(", ", GroupByNames));
        }

        if (!errors.Any && from > to)
        {
            errors.Add("from", "from must not be after to");
        }
        else if (!errors.Any && to.DayNumber - from.DayNumber >= MaxUsageDays)
        {
            errors.Add("from", $"at most {MaxUsageDays} days at once");
        }

        if (errors.Any)
        {
            return errors.ToError();
        }

        var start = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = new DateTimeOffset(to.ToDateTime(new TimeOnly(23, 0)), TimeSpan.Zero);
        var rows = await usageTotals.ReadAsync(keyId, start, end, call.Aborted);
        var groups = new SortedDictionary<string, UsageTotal>(StringComparer.Ordinal);
        var total = new UsageTotal { Hour = start, KeyId = "" };
        foreach (var row in rows)
        {
            var name = group!(row);
            groups[name] = groups.TryGetValue(name, out var sum) ? sum.Plus(row) : row;
            total = total.Plus(row);
        }

        return AdminResult.Ok(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "usage");
            writer.WriteString("from", from.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("to", to.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("groupBy", groupBy);
            if (keyId is null)
            {
                writer.WriteNull("keyId");
            }
            else
            {
                writer.WriteString("keyId", keyId);
            }

            writer.WriteStartArray("data");
            foreach (var (name, sum) in groups)
            {
                writer.WriteStartObject();
                writer.WriteString(groupBy, name);
                WriteTotals(writer, sum);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartObject("total");
            WriteTotals(writer, total);
            writer.WriteEndObject();
            writer.WriteEndObject();
        });
    }

    private static DateOnly ParseDate(string? value, string field, DateOnly fallback, FieldErrors errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            return fallback;
        }

        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var date))
        {
            return date;
        }

        errors.Add(field, $"{field} must be a date as yyyy-MM-dd");
        return fallback;
    }

    private static void WriteTotals(Utf8JsonWriter writer, UsageTotal total)
    {
        writer.WriteNumber("requests", total.Requests);
        writer.WriteNumber("errors", total.Errors);
        writer.WriteNumber("inputTokens", total.InputTokens);
        writer.WriteNumber("outputTokens", total.OutputTokens);
        writer.WriteNumber("cacheReadTokens", total.CacheReadTokens);
        writer.WriteNumber("cacheWriteTokens", total.CacheWriteTokens);
        writer.WriteNumber("reasoningTokens", total.ReasoningTokens);
        writer.WriteNumber("costUsd", total.CostUsd);
        writer.WriteNumber("unpricedRequests", total.UnpricedRequests);
        WritePercentiles(writer, "latencyMs", total.Latency);
        WritePercentiles(writer, "timeToFirstByteMs", total.TimeToFirstByte);
    }

    private static void WritePercentiles(Utf8JsonWriter writer, string name, LatencyHistogram histogram)
    {
        writer.WriteStartObject(name);
        foreach (var (label, quantile) in new[] { ("p50", 0.50), ("p95", 0.95), ("p99", 0.99) })
        {
            if (histogram.Percentile(quantile) is { } value)
            {
                writer.WriteNumber(label, value);
            }
            else
            {
                writer.WriteNull(label);
            }
        }

        writer.WriteEndObject();
    }
}
