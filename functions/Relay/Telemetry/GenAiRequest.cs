namespace Serverless.Relay.Telemetry;

/// <summary>
/// What one relayed request did, in the GenAI conventions' terms: names, models, counts and times. By construction
/// it holds no content: nothing of a prompt, an answer, a key or a credential can reach telemetry through it.
/// </summary>
internal readonly record struct GenAiRequest
{
    /// <summary><c>chat</c>, or <c>generate_content</c> for Gemini's API.</summary>
    public required string Operation { get; init; }

    /// <summary>The conventions' provider name of the account that answered or failed last; null when none was called.</summary>
    public string? Provider { get; init; }

    public required string RequestModel { get; init; }

    public string? ResponseModel { get; init; }

    public long InputTokens { get; init; }

    public long OutputTokens { get; init; }

    /// <summary>The conventions' finish reason (<c>stop</c>, <c>length</c>, <c>tool_calls</c>…), when the answer said.</summary>
    public string? FinishReason { get; init; }

    /// <summary>A low-cardinality error class (the relay's error kind, or the upstream status); null on success.</summary>
    public string? ErrorType { get; init; }

    public TimeSpan Duration { get; init; }

    /// <summary>Until the first byte of the answer reached the client; null when nothing was answered.</summary>
    public TimeSpan? TimeToFirstToken { get; init; }
}
