using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Accounts;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Pricing;

/// <summary>
/// What one model costs, in USD per 1M tokens. Cache reads and writes fall back to the input price when unset.
/// <see cref="Tiers"/> replace these prices for requests whose whole prompt is long (Gemini 2.5 Pro and Claude Sonnet
/// 4/4.5 above 200k input tokens): the tier with the highest threshold below the request's total input applies to
/// every token of the request, output included.
/// NOTE: tokens × (USD per 1M tokens) is exactly micro-USD, so costs need no scaling.
/// </summary>
internal sealed record ModelPrice(string Model, decimal Input, decimal Output, decimal? CacheRead = null, decimal? CacheWrite = null)
{
    /// <summary>Long-prompt prices, thresholds strictly ascending (the parser and <see cref="DefaultPrices"/> keep them so).</summary>
    public IReadOnlyList<PriceTier> Tiers { get; init; } = [];

    /// <summary>The cost of <paramref name="usage"/> in micro-USD (fractions kept).</summary>
    public decimal CostMicros(Usage usage)
    {
        // NOTE: the threshold counts cached tokens too (Anthropic and Google both measure the whole prompt), so a
        // mostly cached 250k prompt is still priced at the long-context tier.
        var totalInput = usage.TotalInputTokens;
        for (var i = Tiers.Count - 1; i >= 0; i--)
        {
            var tier = Tiers[i];
            if (totalInput > tier.AboveInputTokens)
            {
                return Cost(usage, tier.Input, tier.Output, tier.CacheRead, tier.CacheWrite);
            }
        }

        return Cost(usage, Input, Output, CacheRead, CacheWrite);
    }

    private static decimal Cost(Usage usage, decimal input, decimal output, decimal? cacheRead, decimal? cacheWrite) =>
        (usage.InputTokens * input)
        + (usage.CacheReadTokens * (cacheRead ?? input))
        + (usage.CacheWriteTokens * (cacheWrite ?? input))
        + (usage.OutputTokens * output);
}

/// <summary>
/// The prices of a model for requests whose total input (uncached + cache read + cache write) exceeds
/// <see cref="AboveInputTokens"/>. Cache prices fall back to this tier's input price when unset.
/// </summary>
internal sealed record PriceTier(long AboveInputTokens, decimal Input, decimal Output, decimal? CacheRead = null, decimal? CacheWrite = null);

/// <summary>
/// The price table: model patterns (the globs of <see cref="ModelPattern"/>) and their prices. A model takes the
/// price of an exact (case-insensitive) entry, else of the longest pattern that matches it.
/// </summary>
internal sealed record PriceTable
{
    public const int MaxEntries = 2_000;
    public const int MaxModelLength = 200;
    public const decimal MaxPrice = 100_000m;
    public const int MaxTiers = 10;

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

    /// <summary>What a request is charged against budgets: its cost in whole micro-dollars, rounded up; 0 when unpriced.</summary>
    public static long ChargeMicros(decimal? costMicros) => costMicros is { } micros ? (long)Math.Ceiling(micros) : 0;

    /// <summary>
    /// Reads <c>{"prices": [{"model", "input", "output", "cacheRead"?, "cacheWrite"?, "tiers"?: [{"aboveInputTokens",
    /// "input", "output", "cacheRead"?, "cacheWrite"?}]}], "source"?}</c>; every problem is reported.
    /// </summary>
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
            var tiers = Tiers(entry, at, errors);
            if (model is { Length: > 0 } && input is not null && output is not null && tiers is not null)
            {
                list.Add(new ModelPrice(model, input.Value, output.Value, cacheRead, cacheWrite) { Tiers = tiers });
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
            JsonFields.WriteNumberOrNull(writer, "cacheRead", price.CacheRead);
            JsonFields.WriteNumberOrNull(writer, "cacheWrite", price.CacheWrite);
            writer.WriteStartArray("tiers");
            foreach (var tier in price.Tiers)
            {
                writer.WriteStartObject();
                writer.WriteNumber("aboveInputTokens", tier.AboveInputTokens);
                writer.WriteNumber("input", tier.Input);
                writer.WriteNumber("output", tier.Output);
                JsonFields.WriteNumberOrNull(writer, "cacheRead", tier.CacheRead);
                JsonFields.WriteNumberOrNull(writer, "cacheWrite", tier.CacheWrite);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
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


    /// <summary>The entry's tiers (empty when absent), or null when any is invalid.</summary>
    private static List<PriceTier>? Tiers(JsonElement entry, string at, List<string> errors)
    {
        var tiers = new List<PriceTier>();
        if (!entry.TryGetProperty("tiers", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return tiers;
        }

        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() > MaxTiers)
        {
            errors.Add($"{at}.tiers must be an array of at most {MaxTiers} {{aboveInputTokens, input, output, cacheRead?, cacheWrite?}}");
            return null;
        }

        var valid = true;
        var index = 0;
        long? previous = null;
        foreach (var tier in array.EnumerateArray())
        {
            var tierAt = $"{at}.tiers[{index++}]";
            if (tier.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{tierAt} must be an object");
                valid = false;
                continue;
            }

            long? above = null;
            if (tier.TryGetProperty("aboveInputTokens", out var a) && a.ValueKind == JsonValueKind.Number && a.TryGetInt64(out var tokens) && tokens > 0)
            {
                above = tokens;
                if (previous is { } p && tokens <= p)
                {
                    errors.Add($"{tierAt}.aboveInputTokens must be greater than the previous tier's ({p.ToString(CultureInfo.InvariantCulture)})");
                    valid = false;
                }

                previous = tokens;
            }
            else
            {
                errors.Add($"{tierAt}.aboveInputTokens must be a positive integer");
            }

            var input = Price(tier, "input", tierAt, required: true, errors);
            var output = Price(tier, "output", tierAt, required: true, errors);
            var cacheRead = Price(tier, "cacheRead", tierAt, required: false, errors);
            var cacheWrite = Price(tier, "cacheWrite", tierAt, required: false, errors);
            if (above is null || input is null || output is null)
            {
                valid = false;
                continue;
            }

            tiers.Add(new PriceTier(above.Value, input.Value, output.Value, cacheRead, cacheWrite));
        }

        return valid ? tiers : null;
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
