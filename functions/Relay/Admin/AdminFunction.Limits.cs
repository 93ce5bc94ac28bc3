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
    /// <c>GET /admin/usage?keyId=&amp;from=yyyy-MM-dd&amp;to=yyyy-MM-dd</c>: per key and UTC day, from the daily totals the
    /// usage writer keeps (never a scan of request rows). Default: the last 30 days through today, every key.
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

        var rows = await usageTotals.ReadAsync(keyId, from, to, ct);
        var total = new UsageTotal { KeyId = keyId ?? "", Date = from };
        foreach (var row in rows)
        {
            total = total.Plus(row);
        }

        await WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "usage");
            writer.WriteString("from", from.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("to", to.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            if (keyId is null)
            {
                writer.WriteNull("keyId");
            }
            else
            {
                writer.WriteString("keyId", keyId);
            }

            writer.WriteStartArray("data");
            foreach (var row in rows)
            {
                writer.WriteStartObject();
                writer.WriteString("keyId", row.KeyId);
                writer.WriteString("date", row.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                WriteTotals(writer, row);
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
    }
}
