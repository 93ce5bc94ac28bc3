using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Accounts;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Pricing;

/// <summary>
/// What one model costs, in USD per 1M tokens. Cache reads and writes fall back to the input price when unset.
/// NOTE: tokens × (USD per 1M tokens) is exactly micro-USD, so costs need no scaling.
/// </summary>
internal sealed record ModelPrice(string Model, decimal Input, decimal Output, decimal? CacheRead = null, decimal? CacheWrite = null)
{
    /// <summary>The cost of <paramref name="usage"/> in micro-USD (fractions kept).</summary>
    public decimal CostMicros(Usage usage) =>
        (usage.InputTokens * Input)
        + (usage.CacheReadTokens * (CacheRead ?? Input))
        + (usage.CacheWriteTokens * (CacheWrite ?? Input))
        + (usage.OutputTokens * Output);
}

/// <summary>
/// The price table: model patterns (the globs of <see cref="ModelPattern"/>) and their prices. A model takes the
/// price of an exact (case-insensitive) entry, else of the longest pattern that matches it.
/// </summary>
internal sealed record PriceTable
{
    public const int MaxEntries = 2_000;
    public const int MaxModelLength = 200;
    public const decimal MaxPrice = 100_000m;

    public IReadOnlyList<ModelPrice> Prices { get; init; } = [];

    /// <summary>Where the prices come from and when they were checked, e.g. <c>vendor pricing pages, 2025-08-01</c>.</summary>
    public string? Source { get; init; }

    /// <summary>True for the built-in table, false once an admin has put one.</summary>
    public bool IsDefault { get; init; }

    public ModelPrice? Find(string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            return null;
        }

        ModelPrice? best = null;
        foreach (var price in Prices)
        {
            if (string.Equals(price.Model, model, StringComparison.OrdinalIgnoreCase))
            {
                return price;
            }

            if (ModelPattern.IsMatch(price.Model, model) && (best is null || price.Model.Length > best.Model.Length))
            {
                best = price;
            }
        }

        return best;
    }

    /// <summary>The cost of a request, or null when neither model has a price (the row is then marked unpriced).</summary>
    public decimal? CostMicros(string? upstreamModel, string requestedModel, Usage usage) =>
        (Find(upstreamModel) ?? Find(requestedModel))?.CostMicros(usage);

    /// <summary>Reads <c>{"prices": [{"model", "input", "output", "cacheRead"?, "cacheWrite"?}], "source"?}</c>; every problem is reported.</summary>
    public static PriceTable? Parse(JsonElement body, List<string> errors)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("prices", out var prices) || prices.ValueKind != JsonValueKind.Array)
        {
            errors.Add("prices must be an array of {model, input, output, cacheRead?, cacheWrite?} in USD per 1M tokens");
            return null;
        }

        string? source = null;
        if (body.TryGetProperty("source", out var sourceValue) && sourceValue.ValueKind != JsonValueKind.Null)
        {
            if (sourceValue.ValueKind == JsonValueKind.String && sourceValue.GetString()!.Length <= 500)
            {
                source = sourceValue.GetString();
            }
            else
            {
                errors.Add("source must be a string of at most 500 characters");
            }
        }

        if (prices.GetArrayLength() > MaxEntries)
        {
            errors.Add($"prices may hold at most {MaxEntries} entries");
            return null;
        }

        var list = new List<ModelPrice>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var index = 0;
        foreach (var entry in prices.EnumerateArray())
        {
            var at = $"prices[{index++}]";
            if (entry.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{at} must be an object");
                continue;
            }

            var model = entry.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()!.Trim() : null;
            if (string.IsNullOrEmpty(model) || model.Length > MaxModelLength)
            {
                errors.Add($"{at}.model must be a non-empty string of at most {MaxModelLength} characters");
            }
            else if (!seen.Add(model))
            {
                errors.Add($"{at}.model '{model}' appears twice");
            }

            var input = Price(entry, "input", at, required: true, errors);
            var output = Price(entry, "output", at, required: true, errors);
            var cacheRead = Price(entry, "cacheRead", at, required: false, errors);
            var cacheWrite = Price(entry, "cacheWrite", at, required: false, errors);
            if (model is { Length: > 0 } && input is not null && output is not null)
            {
                list.Add(new ModelPrice(model, input.Value, output.Value, cacheRead, cacheWrite));
            }
        }

        return errors.Count > 0 ? null : new PriceTable { Prices = list, Source = source };
    }

    public void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("object", "pricing");
        writer.WriteString("currency", "USD");
        writer.WriteString("unit", "per 1M tokens");
        writer.WriteBoolean("default", IsDefault);
        if (Source is null)
        {
            writer.WriteNull("source");
        }
        else
        {
            writer.WriteString("source", Source);
        }

        writer.WriteStartArray("prices");
        foreach (var price in Prices)
        {
            writer.WriteStartObject();
            writer.WriteString("model", price.Model);
            writer.WriteNumber("input", price.Input);
            writer.WriteNumber("output", price.Output);
            WriteNullable(writer, "cacheRead", price.CacheRead);
            WriteNullable(writer, "cacheWrite", price.CacheWrite);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            Write(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, decimal? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static decimal? Price(JsonElement entry, string field, string at, bool required, List<string> errors)
    {
        if (!entry.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add($"{at}.{field} is required");
            }

            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var price) && price >= 0 && price <= MaxPrice)
        {
            return price;
        }

        errors.Add($"{at}.{field} must be a number of USD per 1M tokens from 0 to {MaxPrice.ToString(CultureInfo.InvariantCulture)}");
        return null;
    }
}
