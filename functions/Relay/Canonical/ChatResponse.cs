namespace Serverless.Relay.Canonical;

/// <summary>A complete (non-streamed) answer.</summary>
internal sealed record ChatResponse
{
    public required string Id { get; init; }

    /// <summary>The model that answered, as the upstream named it.</summary>
    public required string Model { get; init; }

    /// <summary>Text, thinking and tool-call parts in the order the model produced them.</summary>
    public required IReadOnlyList<ContentPart> Content { get; init; }

    public StopReason StopReason { get; init; } = StopReason.EndTurn;

    /// <summary>The stop sequence that ended the answer, when <see cref="StopReason"/> is <see cref="StopReason.StopSequence"/>.</summary>
    public string? StopSequence { get; init; }

    public Usage Usage { get; init; } = Usage.Empty;

    /// <summary>Creation time, Unix seconds; 0 when the upstream gives none (Anthropic, Gemini's Developer API).</summary>
    public long Created { get; init; }

    /// <summary><see cref="Created"/>, or now when the upstream gave none: OpenAI's answers always carry a time.</summary>
    public long CreatedOr(TimeProvider time) => Created != 0 ? Created : time.GetUtcNow().ToUnixTimeSeconds();
}

internal enum StopReason
{
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
    ContentFilter,
    /// <summary>Anything the upstream reported that has no better match.</summary>
    Other,
}
