namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>
/// What differs between OpenAI itself and the servers that copy its Chat Completions API, on the upstream side only
/// (the client side reads both spellings).
/// </summary>
/// <param name="MaxTokensField">
/// OpenAI deprecated <c>max_tokens</c> for <c>max_completion_tokens</c> (reasoning models reject the old name), but
/// Ollama, vLLM and most compatible servers still only know <c>max_tokens</c>.
/// </param>
/// <param name="WritesCacheControl">
/// OpenRouter and other compatible servers forward Anthropic-style <c>cache_control</c> on text parts; OpenAI caches on
/// its own and has no such field, so it is not sent there.
/// </param>
internal sealed record OpenAIChatDialect(string MaxTokensField, bool WritesCacheControl)
{
    public static readonly OpenAIChatDialect OpenAI = new("max_completion_tokens", WritesCacheControl: false);

    public static readonly OpenAIChatDialect Compatible = new("max_tokens", WritesCacheControl: true);
}
