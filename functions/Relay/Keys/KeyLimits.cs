using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Serverless.Relay.Keys;

/// <summary>What a limit counts.</summary>
internal enum LimitMetric
{
    /// <summary>Requests admitted (whatever their outcome).</summary>
    Requests,
    /// <summary>All tokens: uncached input, cache reads and writes, output.</summary>
    Tokens,
    /// <summary>Input tokens, cache reads and writes included.</summary>
    InputTokens,
    /// <summary>Output tokens, reasoning included.</summary>
    OutputTokens,
    /// <summary>Cost in micro-USD (1 USD = 1,000,000), from the price table.</summary>
    Cost,
    /// <summary>Requests in flight at once.</summary>
    Concurrency,
}

/// <summary>The fixed window a limit counts in, in UTC: a calendar minute, day or month, or forever (a budget).</summary>
internal enum LimitWindow
{
    Minute,
    Day,
    Month,
    Total,
}

/// <summary>One limit: at most <see cref="Amount"/> of <see cref="Metric"/> per <see cref="Window"/>.</summary>
internal sealed record LimitRule(LimitMetric Metric, LimitWindow Window, long Amount)
{
    /// <summary>The admin API's field name, e.g. <c>tokensPerDay</c>.</summary>
    public string FieldName => KeyLimits.FieldNameOf(Metric, Window);

    /// <summary>The rule takes an estimate of the prompt's tokens up front (the limiter reserves it before the call).</summary>
    public bool CountsPromptTokens => Metric is LimitMetric.Tokens or LimitMetric.InputTokens;

    /// <summary>The amount as the rate-limit headers write it, made once: every answer to a limited key carries it.</summary>
    public string AmountText { get; } = Amount.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// A key's limits, as the admin API writes them (issue 3's names): <c>{"rpm": 60, "rpd": 1000, "tpm": 100000,
/// "dailyInputTokens": 1000000, "monthlyOutputTokens": 5000000, "dailyCostUsd": 5, "totalCostUsd": 100,
/// "maxConcurrency": 4}</c>. Every field is optional; an absent one does not limit.
/// Costs are USD in JSON and whole micro-USD inside, so counters stay exact integers.
/// </summary>
internal sealed record KeyLimits
{
    public static readonly KeyLimits None = new();

    public const long MicrosPerUsd = 1_000_000;
    public const decimal MaxUsd = 1_000_000_000m;
    public const long MaxCount = 1_000_000_000_000;

    /// <summary>Every field the admin API knows, in the order they are written back.</summary>
    public static readonly IReadOnlyList<(string Field, LimitMetric Metric, LimitWindow Window)> Fields =
    [
        ("rpm", LimitMetric.Requests, LimitWindow.Minute),
        ("rpd", LimitMetric.Requests, LimitWindow.Day),
        ("tpm", LimitMetric.Tokens, LimitWindow.Minute),
        ("dailyInputTokens", LimitMetric.InputTokens, LimitWindow.Day),
        ("dailyOutputTokens", LimitMetric.OutputTokens, LimitWindow.Day),
        ("monthlyInputTokens", LimitMetric.InputTokens, LimitWindow.Month),
        ("monthlyOutputTokens", LimitMetric.OutputTokens, LimitWindow.Month),
        ("dailyCostUsd", LimitMetric.Cost, LimitWindow.Day),
        ("monthlyCostUsd", LimitMetric.Cost, LimitWindow.Month),
        ("totalCostUsd", LimitMetric.Cost, LimitWindow.Total),
        ("maxConcurrency", LimitMetric.Concurrency, LimitWindow.Total),
    ];

    public IReadOnlyList<LimitRule> Rules { get; init; } = [];

    public bool IsEmpty => Rules.Count == 0;

    /// <summary>Some rule counts the prompt's tokens up front (<see cref="LimitRule.CountsPromptTokens"/>), so the request must be read whole for the estimate.</summary>
    public bool CountsPromptTokens
    {
        get
        {
            foreach (var rule in Rules)
            {
                if (rule.CountsPromptTokens)
                {
                    return true;
                }
            }

            return false;
        }
    }

    public static string FieldNameOf(LimitMetric metric, LimitWindow window)
    {
        foreach (var (field, m, w) in Fields)
        {
            if (m == metric && w == window)
            {
                return field;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(window), $"{metric} per {window} is not a limit");
    }

    /// <summary>
    /// Reads a <c>limits</c> object; null (or <c>{}</c>) means no limits; a field set to null removes that limit.
    /// Every problem goes to <paramref name="errors"/>; the result is null when there was one.
    /// </summary>
    public static KeyLimits? Parse(JsonElement value, List<string> errors)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return None;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add("limits must be an object");
            return null;
        }

        var rules = new List<LimitRule>();
        var before = errors.Count;
        foreach (var property in value.EnumerateObject())
        {
            var known = false;
            foreach (var (field, metric, window) in Fields)
            {
                if (!string.Equals(field, property.Name, StringComparison.Ordinal))
                {
                    continue;
                }

                known = true;
                if (property.Value.ValueKind == JsonValueKind.Null)
                {
                    break;
                }

                if (ReadAmount(property.Value, metric) is { } amount)
                {
                    rules.Add(new LimitRule(metric, window, amount));
                }
                else
                {
                    errors.Add(metric == LimitMetric.Cost
                        ? $"limits.{field} must be a positive number of USD of at most {MaxUsd.ToString(CultureInfo.InvariantCulture)}, with at most 6 decimals"
                        : $"limits.{field} must be a positive whole number of at most {MaxCount.ToString(CultureInfo.InvariantCulture)}");
                }

                break;
            }

            if (!known)
            {
                errors.Add($"limits.{property.Name} is not a known limit; known: {string.Join(", ", Fields.Select(f => f.Field))}");
            }
        }

        return errors.Count > before ? null : new KeyLimits { Rules = Order(rules) };
    }

    /// <summary>
    /// A PATCH merges per field: the fields <paramref name="patch"/> names are set (or removed, when it set them to
    /// null), the others are kept. A null patch (<c>"limits": null</c>) removes every limit.
    /// </summary>
    public KeyLimits Merge(KeyLimitsPatch patch)
    {
        if (patch.Limits is null)
        {
            return None;
        }

        var rules = Rules.Where(r => !patch.Fields.Contains(r.FieldName)).Concat(patch.Limits.Rules).ToList();
        return new KeyLimits { Rules = Order(rules) };
    }

    public LimitRule? Find(LimitMetric metric, LimitWindow window)
    {
        foreach (var rule in Rules)
        {
            if (rule.Metric == metric && rule.Window == window)
            {
                return rule;
            }
        }

        return null;
    }

    public void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var rule in Rules)
        {
            if (rule.Metric == LimitMetric.Cost)
            {
                writer.WriteNumber(rule.FieldName, ToUsd(rule.Amount));
            }
            else
            {
                writer.WriteNumber(rule.FieldName, rule.Amount);
            }
        }

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

    /// <summary>Reads what <see cref="ToJson"/> wrote (a stored column); empty means none.</summary>
    public static KeyLimits FromJson(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return None;
        }

        using var document = JsonDocument.Parse(json);
        var errors = new List<string>();
        return Parse(document.RootElement, errors) ?? throw new InvalidDataException("stored limits are invalid: " + string.Join("; ", errors));
    }

    public static decimal ToUsd(long micros) => micros / (decimal)MicrosPerUsd;

    private static long? ReadAmount(JsonElement value, LimitMetric metric)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            return null;
        }

        if (metric == LimitMetric.Cost)
        {
            if (!value.TryGetDecimal(out var usd) || usd <= 0 || usd > MaxUsd)
            {
                return null;
            }

            var micros = usd * MicrosPerUsd;
            return micros == decimal.Truncate(micros) ? (long)micros : null;
        }

        return value.TryGetInt64(out var count) && count is > 0 and <= MaxCount ? count : null;
    }

    private static List<LimitRule> Order(List<LimitRule> rules) =>
        [.. rules.OrderBy(r => r.Metric).ThenBy(r => r.Window)];
}

/// <summary>A <c>limits</c> object of a PATCH: the fields it names, and what they say (null: remove every limit).</summary>
internal sealed record KeyLimitsPatch(KeyLimits? Limits, IReadOnlySet<string> Fields)
{
    public static KeyLimitsPatch? Parse(JsonElement value, List<string> errors)
    {
        var limits = KeyLimits.Parse(value, errors);
        if (limits is null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Null
            ? new KeyLimitsPatch(null, new HashSet<string>())
            : new KeyLimitsPatch(limits, value.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal));
    }
}
