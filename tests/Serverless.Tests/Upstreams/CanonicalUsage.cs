namespace Serverless.Tests.Upstreams;

/// <summary>
/// The one set of token counts every fake reports, each in its own format's convention, so translation tests can
/// check that the relay maps cached and uncached input correctly (OpenAI and Gemini count cached tokens inside the
/// prompt total; Anthropic reports them beside it).
/// </summary>
internal static class CanonicalUsage
{
    public const int UncachedInput = 21;
    public const int CacheRead = 5;
    public const int CacheWrite = 3;
    public const int Output = 7;

    /// <summary>Prompt total as OpenAI, Responses and Gemini count it: uncached plus cache reads.</summary>
    public const int PromptTotal = UncachedInput + CacheRead;

    public const int Total = PromptTotal + Output;

    /// <summary>What both count-tokens endpoints answer.</summary>
    public const int CountTokens = 42;
}
