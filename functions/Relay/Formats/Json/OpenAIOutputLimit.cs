namespace Serverless.Relay.Formats.Json;

/// <summary>
/// The most output tokens OpenAI's models take (Chat Completions <c>max_completion_tokens</c>, Responses
/// <c>max_output_tokens</c>), by model family, with a router's <c>openai/</c> prefix or without. Numbers from the
/// "Max output tokens" of each model page at https://platform.openai.com/docs/models (GPT-5 128,000, gpt-5-chat-latest
/// 16,384; o1, o3, o3-mini, o4-mini 100,000; o1-mini 65,536; o1-preview 32,768; GPT-4.1 32,768; GPT-4o, GPT-4o mini and
/// chatgpt-4o-latest 16,384, its first snapshot gpt-4o-2024-05-13 4,096; GPT-4 Turbo 4,096; GPT-4 8,192;
/// GPT-3.5 Turbo 4,096).
/// </summary>
/// <remarks>
/// NOTE: OpenAI refuses a larger value with a 400 (<c>"max_tokens is too large: 32000. This model supports at most 16384
/// completion tokens, whereas you provided 32000."</c>) instead of capping it, and Claude Code asks for 32,000 or 64,000
/// on every request, so a translated request asks for at most the model's maximum. For a reasoning model the limit
/// bounds reasoning and answer together, which is what the client's <c>max_tokens</c> bounds at Anthropic too.
/// A name not known here (an Azure deployment, Ollama, another compatible server's model) keeps the client's value.
/// </remarks>
internal static class OpenAIOutputLimit
{
    /// <summary><paramref name="requested"/>, lowered to <paramref name="upstreamModel"/>'s maximum when that is known.</summary>
    public static int? Clamp(int? requested, string upstreamModel) =>
        requested is { } value && MaxOf(upstreamModel) is { } max && value > max ? max : requested;

    /// <summary>The most output tokens <paramref name="upstreamModel"/> takes, or null when it is not one OpenAI documents.</summary>
    public static int? MaxOf(string upstreamModel)
    {
        var name = OpenAIModelName.Bare(upstreamModel);
        if (OpenAIModelName.IsGpt5(name, out var chat))
        {
            return chat ? 16_384 : 128_000;
        }

        if (name.StartsWith("o1-mini", StringComparison.OrdinalIgnoreCase))
        {
            return 65_536;
        }

        if (name.StartsWith("o1-preview", StringComparison.OrdinalIgnoreCase))
        {
            return 32_768;
        }

        if (OpenAIModelName.IsOSeries(name))
        {
            return 100_000;
        }

        if (name.StartsWith("gpt-4.1", StringComparison.OrdinalIgnoreCase))
        {
            return 32_768;
        }

        if (name.Equals("gpt-4o-2024-05-13", StringComparison.OrdinalIgnoreCase))
        {
            return 4_096;
        }

        if (name.StartsWith("gpt-4o", StringComparison.OrdinalIgnoreCase) || name.StartsWith("chatgpt-4o", StringComparison.OrdinalIgnoreCase))
        {
            return 16_384;
        }

        if (name.StartsWith("gpt-4-turbo", StringComparison.OrdinalIgnoreCase) || name.StartsWith("gpt-4-1106", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("gpt-4-0125", StringComparison.OrdinalIgnoreCase))
        {
            return 4_096;
        }

        if (name.Equals("gpt-4", StringComparison.OrdinalIgnoreCase) || name.Equals("gpt-4-0613", StringComparison.OrdinalIgnoreCase))
        {
            return 8_192;
        }

        return name.StartsWith("gpt-3.5-turbo", StringComparison.OrdinalIgnoreCase) ? 4_096 : null;
    }
}
