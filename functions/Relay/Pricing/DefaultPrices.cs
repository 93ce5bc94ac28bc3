namespace Serverless.Relay.Pricing;

/// <summary>
/// The built-in price table, used until an admin puts one (<c>PUT /api/admin/pricing</c>). USD per 1M tokens, standard
/// (non-batch) tier, with the long-prompt tiers where a vendor prices by prompt length: Gemini 2.5 Pro and Claude
/// Sonnet 4/4.5 above 200k input tokens (added <see cref="TiersAsOf"/>, from Anthropic's pricing page and summaries of
/// ai.google.dev/pricing dated March–April 2026).
/// NOTE: prices change; these were read from the vendors' pricing pages as of <see cref="AsOf"/> (GPT-5.4/5.5 from a
/// June 2026 summary of openai.com/api/pricing). Verify before billing anyone with them.
/// </summary>
internal static class DefaultPrices
{
    public const string AsOf = "2026-06-01";

    /// <summary>When the long-prompt tiers were added and checked.</summary>
    public const string TiersAsOf = "2026-11-23";

    /// <summary>Where Anthropic and Google price prompts above 200k input tokens differently.</summary>
    public const long LongPromptTokens = 200_000;

    public static readonly PriceTable Table = new()
    {
        IsDefault = true,
        Source = $"built-in: OpenAI, Anthropic and Google pricing pages as of {AsOf}; long-prompt tiers as of {TiersAsOf}",
        Prices =
        [
            // OpenAI (cached input = cache read; OpenAI has no cache-write charge)
            new("gpt-5.5*", 5.00m, 30.00m, 0.50m),
            new("gpt-5.5-pro*", 30.00m, 180.00m),
            new("gpt-5.4*", 2.50m, 15.00m, 0.25m),
            new("gpt-5.4-pro*", 30.00m, 180.00m),
            new("gpt-5.4-mini*", 0.75m, 4.50m, 0.075m),
            new("gpt-5.4-nano*", 0.20m, 1.25m, 0.02m),
            new("gpt-5*", 1.25m, 10.00m, 0.125m),
            new("gpt-5-mini*", 0.25m, 2.00m, 0.025m),
            new("gpt-5-nano*", 0.05m, 0.40m, 0.005m),
            new("gpt-4.1*", 2.00m, 8.00m, 0.50m),
            new("gpt-4.1-mini*", 0.40m, 1.60m, 0.10m),
            new("gpt-4.1-nano*", 0.10m, 0.40m, 0.025m),
            new("gpt-4o*", 2.50m, 10.00m, 1.25m),
            new("gpt-4o-mini*", 0.15m, 0.60m, 0.075m),
            new("o3*", 2.00m, 8.00m, 0.50m),
            new("o4-mini*", 1.10m, 4.40m, 0.275m),

            // Anthropic (cache write = 5-minute write, 1.25 × input; cache read = 0.1 × input)
            new("claude-opus-4-5*", 5.00m, 25.00m, 0.50m, 6.25m),
            new("claude-opus-4-6*", 5.00m, 25.00m, 0.50m, 6.25m),
            new("claude-opus-4*", 15.00m, 75.00m, 1.50m, 18.75m),
            // Sonnet 4 and 4.5 with the 1M-context beta: a prompt above 200k tokens bills every token at the long-context
            // rates (input and cache prices doubled, output × 1.5).
            new("claude-sonnet-4*", 3.00m, 15.00m, 0.30m, 3.75m) { Tiers = [new(LongPromptTokens, 6.00m, 22.50m, 0.60m, 7.50m)] },

            // NOTE: Sonnet 4.6's 1M context went GA on 2026-03-13 at standard prices, with no long-context tier.
            new("claude-sonnet-4-6*", 3.00m, 15.00m, 0.30m, 3.75m),
            new("claude-3-7-sonnet*", 3.00m, 15.00m, 0.30m, 3.75m),
            new("claude-haiku-4-5*", 1.00m, 5.00m, 0.10m, 1.25m),
            new("claude-3-5-haiku*", 0.80m, 4.00m, 0.08m, 1.00m),

            // Google Gemini (text input; cache read = context-cache price, storage not included)
            // Prompts above 200k tokens: input $2.50, output $15; the cache price keeps the table's 25%-of-input rate.
            new("gemini-2.5-pro*", 1.25m, 10.00m, 0.31m) { Tiers = [new(LongPromptTokens, 2.50m, 15.00m, 0.625m)] },
            new("gemini-2.5-flash*", 0.30m, 2.50m, 0.075m),
            new("gemini-2.5-flash-lite*", 0.10m, 0.40m, 0.025m),
            new("gemini-2.0-flash*", 0.10m, 0.40m, 0.025m),
        ],
    };
}
