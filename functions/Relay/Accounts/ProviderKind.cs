namespace Serverless.Relay.Accounts;

/// <summary>The upstream vendors an account can belong to.</summary>
internal enum ProviderKind
{
    OpenAI,
    AzureOpenAI,
    Anthropic,
    Gemini,
    OpenRouter,
    Ollama,
    OpenAICompatible,
}

internal static class ProviderKinds
{
    /// <summary>The names used in the admin API and storage.</summary>
    public static string WireName(this ProviderKind kind) => kind switch
    {
        ProviderKind.OpenAI => "openai",
        ProviderKind.AzureOpenAI => "azure-openai",
        ProviderKind.Anthropic => "anthropic",
        ProviderKind.Gemini => "gemini",
        ProviderKind.OpenRouter => "openrouter",
        ProviderKind.Ollama => "ollama",
        ProviderKind.OpenAICompatible => "openai-compatible",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// The OpenTelemetry GenAI conventions' <c>gen_ai.provider.name</c>: their well-known value where there is one,
    /// else the wire name.
    /// </summary>
    public static string GenAiName(this ProviderKind kind) => kind switch
    {
        ProviderKind.AzureOpenAI => "azure.ai.openai",
        ProviderKind.Gemini => "gcp.gemini",
        _ => kind.WireName(),
    };

    public static bool TryParse(string? name, out ProviderKind kind)
    {
        foreach (var candidate in Enum.GetValues<ProviderKind>())
        {
            if (string.Equals(candidate.WireName(), name, StringComparison.Ordinal))
            {
                kind = candidate;
                return true;
            }
        }

        kind = default;
        return false;
    }

    public static IEnumerable<string> AllWireNames => Enum.GetValues<ProviderKind>().Select(k => k.WireName());
}
