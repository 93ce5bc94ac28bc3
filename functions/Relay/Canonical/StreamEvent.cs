namespace Serverless.Relay.Canonical;

/// <summary>
/// One event of a streamed answer. Upstream decoders produce these; client encoders consume them.
/// Content blocks are numbered by <c>Index</c> in the order they start (Anthropic's model): a block starts,
/// receives deltas, and stops before the next one starts, except that OpenAI may interleave parallel tool calls,
/// so encoders must not assume only one block is open.
/// </summary>
internal abstract record StreamEvent;

/// <summary>First event of every stream.</summary>
internal sealed record MessageStarted(string Id, string Model, UsageReport? Usage = null) : StreamEvent;

internal sealed record TextStarted(int Index) : StreamEvent;

internal sealed record TextDelta(int Index, string Text) : StreamEvent;

internal sealed record ThinkingStarted(int Index) : StreamEvent;

internal sealed record ThinkingDelta(int Index, string Text) : StreamEvent;

/// <param name="SignedBy">The provider that made the signature (<see cref="ThinkingPart.SignedBy"/>).</param>
internal sealed record ThinkingSignature(int Index, string Signature, ThinkingSigner? SignedBy = null) : StreamEvent;

internal sealed record ToolCallStarted(int Index, string Id, string Name) : StreamEvent;

/// <summary>A fragment of the tool call's arguments JSON text; fragments concatenate to the full object.</summary>
internal sealed record ToolArgumentsDelta(int Index, string PartialJson) : StreamEvent;

internal sealed record BlockStopped(int Index) : StreamEvent;

/// <summary>A usage observation; see <see cref="UsageReport"/> for the merge rule.</summary>
internal sealed record UsageReported(UsageReport Usage) : StreamEvent;

/// <summary>The answer is complete; a <see cref="MessageStopped"/> follows.</summary>
internal sealed record MessageFinished(StopReason StopReason, string? StopSequence = null) : StreamEvent;

/// <summary>Last event of a stream that ended normally.</summary>
internal sealed record MessageStopped : StreamEvent
{
    public static readonly MessageStopped Instance = new();
}
