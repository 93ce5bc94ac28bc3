using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Formats;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.Pricing;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Admin;

/// <summary>The admin API's limits side: the price table (<c>pricing</c>) and a key's quota (<c>keys/{id}/quota</c>).</summary>
internal sealed partial class AdminFunction
{
    private const string PricingSegment = "pricing";
    private const string QuotaSegment = "quota";
    private const string UsageSegment = "usage";
    private const int MaxUsageDays = 366;
    private const int DefaultUsageDays = 30;

    private Task PricingAsync(HttpContext context, string path, CancellationToken ct) => context.Request.Method switch
    {
        "GET" => GetPricingAsync(context, ct),
        "PUT" => PutPricingAsync(context, ct),
        "DELETE" => ResetPricingAsync(context, ct),
        _ => MethodNotAllowedAsync(context, path, "GET, PUT, DELETE"),
    };

    private async Task GetPricingAsync(HttpContext context, CancellationToken ct)
    {
        var table = await prices.GetAsync(ct);
        await WriteJsonAsync(context, 200, table.Write);
    }

    private async Task PutPricingAsync(HttpContext context, CancellationToken ct)
    {
        using var body = await ReadBodyAsync(context, ct);
        if (body is null)
        {
            return;
        }

        var errors = new List<string>();
        var table = PriceTable.Parse(body.RootElement, errors);
        if (table is null)
        {
            await WriteErrorAsync(context, RelayError.Invalid(string.Join("; ", errors), "prices"));
            return;
        }

        await prices.PutAsync(table, ct);
        Log.PricingChanged(logger, table.Prices.Count);
        await WriteJsonAsync(context, 200, table.Write);
    }

    private async Task ResetPricingAsync(HttpContext context, CancellationToken ct)
    {
        await prices.ResetAsync(ct);
        Log.PricingChanged(logger, DefaultPrices.Table.Prices.Count);
        await WriteJsonAsync(context, 200, DefaultPrices.Table.Write);
    }

    private async Task GetQuotaAsync(HttpContext context, string path, string id, CancellationToken ct)
    {
        if (context.Request.Method != "GET")
        {
            await MethodNotAllowedAsync(context, path, "GET");
            return;
        }

        var key = StorageIds.IsWellFormed(KeyIdPrefix, id) ? await keys.GetIfExistsAsync(id, ct) : null;
        if (key is null)
        {
            await WriteErrorAsync(context, ClientKeyStore.NotFound(id));
            return;
        }

        var lines = await quotas.ReadAsync(key, ct);
        await WriteJsonAsync(context, 200, writer => WriteQuota(writer, key, lines));
    }

    /// <summary>A key's limits and where each stands; shared with the key-info API.</summary>
    internal static void WriteQuota(Utf8JsonWriter writer, ClientKey key, IReadOnlyList<QuotaLine> lines)
    {
        writer.WriteStartObject();
        writer.WriteString("object", "quota");
        writer.WriteString("keyId", key.Id);
        writer.WritePropertyName("limits");
        key.Limits.Write(writer);
        QuotaReader.Write(writer, "usage", lines);
        writer.WriteEndObject();
    }

    /// <summary>
    /// <c>GET /admin/usage?from=yyyy-MM-dd&amp;to=yyyy-MM-dd&amp;groupBy=key|owner|model|account|day|hour&amp;keyId=</c>: requests,
    /// errors, tokens, cost and latency percentiles per group, from the hourly totals the usage writer keeps (never a
    /// scan of request rows). Default: the last 30 days through today, grouped by key.
    /// </summary>
    private async Task GetUsageAsync(HttpContext context, string path, CancellationToken ct)
    {
        if (context.Request.Method != "GET")
        {
            await MethodNotAllowedAsync(context, path, "GET");
            return;
        }

        var query = context.Request.Query;
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var errors = new FieldErrors();
        var to = ParseDate(query["to"], "to", today, errors);
        var from = ParseDate(query["from"], "from", to.AddDays(1 - DefaultUsageDays), errors);
        var keyId = query["keyId"].ToString() is { Length: > 0 } id ? id : null;
        if (keyId is not null && !StorageIds.IsWellFormed(KeyIdPrefix, keyId))
        {
            errors.Add("keyId", $"keyId '{keyId}' is not a key id");
        }

        var groupBy = query["groupBy"].ToString() is { Length: > 0 } g ? g : "key";
        Func<UsageTotal, string>? group = groupBy switch
        {
            "key" => t => t.KeyId,
            "owner" => t => t.Owner ?? "",
            "model" => t => t.Model,
            "account" => t => t.AccountId,
            "day" => t => t.Hour.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            "hour" => t => t.Hour.ToString("yyyy-MM-dd'T'HH':00Z'", System.Globalization.CultureInfo.InvariantCulture),
            _ => null,
        };
        if (group is null)
        {
            errors.Add("groupBy", "groupBy must be one of key, owner, model, account, day, hour");
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
            await WriteErrorAsync(context, errors.ToError());
            return;
        }

        var start = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = new DateTimeOffset(to.ToDateTime(new TimeOnly(23, 0)), TimeSpan.Zero);
        var rows = await usageTotals.ReadAsync(keyId, start, end, ct);
        var groups = new SortedDictionary<string, UsageTotal>(StringComparer.Ordinal);
        var total = new UsageTotal { Hour = start, KeyId = "" };
        foreach (var row in rows)
        {
            var name = group!(row);
            groups[name] = groups.TryGetValue(name, out var sum) ? sum.Plus(row) : row;
            total = total.Plus(row);
        }

        await WriteJsonAsync(context, 200, writer =>
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
