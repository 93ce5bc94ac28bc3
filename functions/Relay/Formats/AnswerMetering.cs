using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats;

/// <summary>What metering takes from a complete answer: the usage the upstream reported and why it stopped.</summary>
/// <param name="AnswerId">The answer's own id where the reading has it (a stored Responses answer's, which a later request may continue).</param>
internal readonly record struct AnswerMetering(UsageReport Usage, StopReason StopReason, string? AnswerId = null)
{
    /// <summary>The metering of an answer read whole.</summary>
    public static AnswerMetering Of(ChatResponse answer) => new(UsageReport.From(answer.Usage), answer.StopReason, answer.Id);
}
