using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// OpenAI's reasoning effort, shared by Chat Completions (<c>reasoning_effort</c>) and Responses (<c>reasoning.effort</c>):
/// https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort.
/// </summary>
internal static class OpenAIReasoning
{
    public const string EffortList = "none, minimal, low, medium, high, xhigh, max";

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
            "max" => ReasoningEffort.Max,
            _ => null,
        };
        return effort is null ? RelayError.Invalid($"{field}: must be one of {EffortList}", param) : null;
    }

    /// <summary>
    /// Whether <paramref name="upstreamModel"/> may be sent reasoning settings: not the GPT-4 and GPT-3.5 families
    /// (with a router's <c>openai/</c> prefix or without), which refuse them. A thinking client such as Claude Code
    /// mapped to gpt-4o keeps working, without thinking, as before reasoning was carried. Any other name gets them:
    /// OpenAI's reasoning models and compatible servers, which ignore what they do not know.
    /// </summary>
    public static bool Accepts(string upstreamModel)
    {
        var name = OpenAIModelName.Bare(upstreamModel);
        return !(name.StartsWith("gpt-4", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("gpt-3.5", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("gpt-35", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("chatgpt-4o", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Whether <paramref name="upstreamModel"/> is one of OpenAI's reasoning models, which refuse sampling settings with
    /// a 400 (<c>"Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is
    /// supported."</c>; likewise <c>top_p</c> and the penalties): the o-series and GPT-5 (with a router's <c>openai/</c>
    /// prefix or without), but not <c>gpt-5-chat</c>, which samples as GPT-4o does. Gemini CLI sends temperature 0 and
    /// top_p 1 by default, and Anthropic SDK users set a temperature by habit; for these models the settings are left out,
    /// as the Vercel AI SDK's OpenAI provider and LiteLLM's <c>drop_params</c> leave them out.
    /// </summary>
    public static bool RefusesSampling(string upstreamModel)
    {
        var name = OpenAIModelName.Bare(upstreamModel);
        return OpenAIModelName.IsGpt5(name, out var chat) ? !chat : OpenAIModelName.IsOSeries(name);
    }

    /// <summary>
    /// The effort to send an OpenAI upstream, or null to send none: thinking the model sizes itself is OpenAI's
    /// default, and <c>max</c> (Anthropic's, or OpenAI's own) goes as <c>xhigh</c>.
    /// </summary>
    /// <remarks>
    /// NOTE: "no thinking" is not sent either. <c>none</c> exists only from gpt-5.1 on (gpt-5 and the o-series refuse it)
    /// and a model without reasoning refuses <c>reasoning_effort</c> altogether, so an Anthropic client's
    /// <c>thinking: disabled</c> would break requests to them; left out, a reasoning model thinks at its default.
    /// Likewise only OpenAI's newest models take <c>max</c> and older ones refuse it, while every model that takes
    /// <c>max</c> takes <c>xhigh</c>. A client asking an upstream of its own format for <c>max</c> is passed through untouched.
    /// </remarks>
    public static string? EffortName(Reasoning reasoning) => reasoning.EffectiveEffort switch
    {
        null or ReasoningEffort.None => null,
        ReasoningEffort.Max => Name(ReasoningEffort.XHigh),
        { } effort => Name(effort),
    };

    /// <summary>An effort in OpenAI's words (the echo of a Responses client's own request).</summary>
    public static string Name(ReasoningEffort effort) => effort switch
    {
        ReasoningEffort.None => "none",
        ReasoningEffort.Minimal => "minimal",
        ReasoningEffort.Low => "low",
        ReasoningEffort.Medium => "medium",
        ReasoningEffort.High => "high",
        ReasoningEffort.XHigh => "xhigh",
        _ => "max",
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
