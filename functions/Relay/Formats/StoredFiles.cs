namespace Serverless.Relay.Formats;

/// <summary>
/// References into a provider's own file store (an OpenAI or Anthropic file id, a Gemini Files API URI): only that
/// provider can read them, so a request that must be translated for another one is refused with this message rather
/// than sent without the file. A same-format relay forwards them untouched and never asks.
/// </summary>
internal static class StoredFiles
{
    public const string OpenAI = "OpenAI";
    public const string Anthropic = "Anthropic";
    public const string Gemini = "Gemini";

    /// <param name="inline">How this client format sends the same file inline (e.g. "file_data").</param>
    public static string OnlyWith(string provider, string inline) =>
        $"a file stored with {provider} can only be read by {provider}, and this model is served by translating the request for another provider; send the file inline as {inline} instead";

    /// <summary>
    /// For Gemini's <c>cachedContent</c> (<c>cachedContents/…</c>): the system instruction, tools and contents cached
    /// under that name live with Gemini alone (https://ai.google.dev/gemini-api/docs/caching).
    /// </summary>
    public const string CachedOnlyWithGemini =
        $"content cached with {Gemini} can only be read by {Gemini}, and this model is served by translating the request for another provider; send the cached systemInstruction, tools and contents in the request instead";

    /// <summary>A Gemini Files API URI (<c>https://generativelanguage.googleapis.com/v1beta/files/…</c>), which only the Gemini API resolves.</summary>
    public static bool IsGeminiFile(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var parsed)
        && parsed.Host.Equals("generativelanguage.googleapis.com", StringComparison.OrdinalIgnoreCase)
        && parsed.AbsolutePath.Contains("/files/", StringComparison.Ordinal);
}
