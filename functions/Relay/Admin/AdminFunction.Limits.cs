using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Formats;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Pricing;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Admin;

/// <summary>The admin API's limits side: the price table (<c>pricing</c>) and a key's quota (<c>keys/{id}/quota</c>).</summary>
internal sealed partial class AdminFunction
{
    private const string PricingSegment = "pricing";
    private const string QuotaSegment = "quota";

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
}
