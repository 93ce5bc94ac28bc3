using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// OpenAI's reasoning effort, shared by Chat Completions (<c>reasoning_effort</c>) and Responses (<c>reasoning.effort</c>):
/// https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort.
/// </summary>
internal static class OpenAIReasoning
{
    public const string EffortList = "none, minimal, low, medium, high, xhigh";

    /// <summary>Reads an effort string; errors name <paramref name="field"/> and carry <paramref name="param"/>.</summary>
    public static RelayError? ReadEffort(JsonElement element, string field, string param, out ReasoningEffort? effort)
    {
        effort = element.ValueKind != JsonValueKind.String ? null : element.GetString() switch
        {
            "none" => ReasoningEffort.None,
            "minimal" => ReasoningEffort.Minimal,
            "low" => ReasoningEffort.Low,
            "medium" => ReasoningEffort.Medium,
            "high" => ReasoningEffort.High,
            "xhigh" => ReasoningEffort.XHigh,
            _ => null,
        };
        return effort is null ? RelayError.Invalid($"{field}: must be one of {EffortList}", param) : null;
    }

    /// <summary>
    /// The effort to send an OpenAI upstream, or null to send none: thinking the model sizes itself is OpenAI's
    /// default, and Anthropic's <c>max</c> is OpenAI's <c>xhigh</c> (its highest).
    /// </summary>
    /// <remarks>
    /// NOTE: "no thinking" is not sent either. <c>none</c> exists only from gpt-5.1 on (gpt-5 and the o-series refuse it)
    /// and a model without reasoning refuses <c>reasoning_effort</c> altogether, so an Anthropic client's
    /// <c>thinking: disabled</c> would break requests to them; left out, a reasoning model thinks at its default.
    /// </remarks>
    public static string? EffortName(Reasoning reasoning) =>
        reasoning.EffectiveEffort is { } effort and not ReasoningEffort.None ? Name(effort) : null;

    /// <summary>An effort in OpenAI's words; <see cref="ReasoningEffort.Max"/> is its highest, <c>xhigh</c>.</summary>
    public static string Name(ReasoningEffort effort) => effort switch
    {
        ReasoningEffort.None => "none",
        ReasoningEffort.Minimal => "minimal",
        ReasoningEffort.Low => "low",
        ReasoningEffort.Medium => "medium",
        ReasoningEffort.High => "high",
        _ => "xhigh",
    };

    /// <summary>
    /// Responses <c>reasoning.summary</c> (and the deprecated <c>generate_summary</c>): <c>auto</c>, <c>concise</c> or
    /// <c>detailed</c>; any of them means the client wants the thinking back.
    /// </summary>
    public static bool IsSummary(JsonElement element) =>
        JsonFields.IsText(element, "auto"u8) || JsonFields.IsText(element, "concise"u8) || JsonFields.IsText(element, "detailed"u8);

    /// <summary>What to ask an upstream for when the client wants the thinking back: the summary OpenAI picks itself.</summary>
    public const string AutoSummary = "auto";
}
