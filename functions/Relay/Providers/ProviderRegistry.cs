using Serverless.Relay.Accounts;
namespace Serverless.Relay.Providers;

/// <summary>The provider for each <see cref="ProviderKind"/>.</summary>
internal static class ProviderRegistry
{
    public static IProvider For(ProviderKind kind) => kind switch
    {
        ProviderKind.OpenAI => OpenAICompatibleProvider.OpenAI,
        ProviderKind.AzureOpenAI => AzureOpenAIProvider.Instance,
        ProviderKind.Anthropic => AnthropicProvider.Instance,
        ProviderKind.Gemini => GeminiProvider.Instance,
        ProviderKind.OpenRouter => OpenAICompatibleProvider.OpenRouter,
        ProviderKind.Ollama => OpenAICompatibleProvider.Ollama,
        ProviderKind.OpenAICompatible => OpenAICompatibleProvider.Compatible,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
