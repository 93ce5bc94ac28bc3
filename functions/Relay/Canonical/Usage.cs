namespace Serverless.Relay.Canonical;

/// <summary>
/// Token usage, kept apart the Anthropic way: <see cref="InputTokens"/> excludes cache reads and writes.
/// NOTE: OpenAI <c>prompt_tokens</c> and Gemini <c>promptTokenCount</c> include cached tokens; their readers subtract,
/// their writers add back, so each client gets its own convention.
/// </summary>
internal sealed record Usage
{
    public static readonly Usage Empty = new();

    /// <summary>Uncached input tokens.</summary>
    public long InputTokens { get; init; }

    /// <summary>Output tokens, reasoning included.</summary>
    public long OutputTokens { get; init; }

    public long CacheReadTokens { get; init; }

    public long CacheWriteTokens { get; init; }

    /// <summary>Part of <see cref="OutputTokens"/> spent on reasoning, when reported.</summary>
    public long ReasoningTokens { get; init; }

    /// <summary>All input tokens: uncached plus cache reads plus cache writes (what OpenAI calls prompt_tokens).</summary>
    public long TotalInputTokens => InputTokens + CacheReadTokens + CacheWriteTokens;

    public long TotalTokens => TotalInputTokens + OutputTokens;
}

/// <summary>
/// One usage observation from a stream. Providers report usage as running totals in different places
/// (Anthropic: input in <c>message_start</c>, output in <c>message_delta</c>; OpenAI: one final chunk;
/// Gemini: repeated in every chunk), so a report carries only the fields it saw and later reports replace earlier ones
/// field by field. Nothing is ever summed, so nothing is counted twice.
/// </summary>
internal sealed record UsageReport
{
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    public long? CacheReadTokens { get; init; }
    public long? CacheWriteTokens { get; init; }
    public long? ReasoningTokens { get; init; }

    public static UsageReport From(Usage usage) => new()
    {
        InputTokens = usage.InputTokens,
        OutputTokens = usage.OutputTokens,
        CacheReadTokens = usage.CacheReadTokens,
        CacheWriteTokens = usage.CacheWriteTokens,
        ReasoningTokens = usage.ReasoningTokens,
    };
}

/// <summary>Merges <see cref="UsageReport"/>s: per field, the latest reported value wins.</summary>
internal sealed class UsageAccumulator
{
    private long? _input, _output, _cacheRead, _cacheWrite, _reasoning;

    public bool HasAny => _input is not null || _output is not null || _cacheRead is not null || _cacheWrite is not null;

    public void Add(UsageReport report)
    {
        _input = report.InputTokens ?? _input;
        _output = report.OutputTokens ?? _output;
        _cacheRead = report.CacheReadTokens ?? _cacheRead;
        _cacheWrite = report.CacheWriteTokens ?? _cacheWrite;
        _reasoning = report.ReasoningTokens ?? _reasoning;
    }

    public Usage Current => new()
    {
        InputTokens = _input ?? 0,
        OutputTokens = _output ?? 0,
        CacheReadTokens = _cacheRead ?? 0,
        CacheWriteTokens = _cacheWrite ?? 0,
        ReasoningTokens = _reasoning ?? 0,
    };
}
