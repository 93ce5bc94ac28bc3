namespace Serverless.Tests.Upstreams;

/// <summary>Which upstream API a recorded request was addressed to (decided from its path alone).</summary>
public enum UpstreamDialect
{
    OpenAIChat,
    OpenAIResponses,
    OpenAIResponsesCompact,
    AzureOpenAIChat,
    Anthropic,
    AnthropicCountTokens,
    Gemini,
    GeminiCountTokens,

    /// <summary>A path none of the fakes serves; answered 404 but still recorded.</summary>
    Unknown,
}
