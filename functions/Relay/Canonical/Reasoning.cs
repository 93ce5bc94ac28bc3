namespace Serverless.Relay.Canonical;

/// <summary>OpenAI's effort vocabulary (its superset: <c>xhigh</c> is newer) plus Anthropic's <c>max</c>, in rising order.</summary>
internal enum ReasoningEffort
{
    /// <summary>No thinking: OpenAI <c>none</c>, Anthropic <c>thinking.type: disabled</c>, Gemini <c>thinkingBudget: 0</c>.</summary>
    None,
    Minimal,
    Low,
    Medium,
    High,
    XHigh,
    Max,
}

/// <summary>
/// The client's reasoning settings, kept in the form the client gave them: an effort level, a token budget, or both
/// (Anthropic <c>budget_tokens</c> with <c>output_config.effort</c>). Both null is thinking the model sizes itself
/// (Anthropic <c>adaptive</c>, Gemini <c>thinkingBudget: -1</c>). Each writer turns them into its upstream's own form.
/// </summary>
/// <param name="BudgetTokens">A positive token budget; 0 reads as <see cref="ReasoningEffort.None"/>.</param>
/// <param name="IncludeThoughts">
/// Whether the client wants the thinking back (Gemini <c>includeThoughts</c>, Responses <c>reasoning.summary</c>, an
/// Anthropic thinking request that is not <c>display: omitted</c>); null when it did not say.
/// </param>
internal sealed record Reasoning(ReasoningEffort? Effort = null, int? BudgetTokens = null, bool? IncludeThoughts = null)
{
    public static readonly Reasoning Disabled = new(ReasoningEffort.None);

    public bool IsDisabled => Effort == ReasoningEffort.None;

    /// <summary>
    /// The effort, or the one a budget stands for; null for thinking the model sizes itself. A budget reads as LiteLLM
    /// reads Anthropic's: up to 128 minimal, 1024 low, 2048 medium, above that high
    /// (https://github.com/BerriAI/litellm, <c>_map_anthropic_thinking_to_openai</c> and <c>DEFAULT_REASONING_EFFORT_*_THINKING_BUDGET</c>).
    /// </summary>
    public ReasoningEffort? EffectiveEffort => Effort ?? BudgetTokens switch
    {
        null => null,
        <= 128 => ReasoningEffort.Minimal,
        <= 1024 => ReasoningEffort.Low,
        <= 2048 => ReasoningEffort.Medium,
        _ => ReasoningEffort.High,
    };
}
