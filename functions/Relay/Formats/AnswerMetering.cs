using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats;

/// <summary>What metering takes from a complete answer: the usage the upstream reported and why it stopped.</summary>
internal readonly record struct AnswerMetering(UsageReport Usage, StopReason StopReason)
{
    /// <summary>The metering of an answer read whole.</summary>
    public static AnswerMetering Of(ChatResponse answer) => new(UsageReport.From(answer.Usage), answer.StopReason);
}
