namespace Serverless.Relay.Formats;

/// <summary>The wire formats the relay speaks, on either side.</summary>
internal enum WireFormat
{
    /// <summary>OpenAI Chat Completions (also every OpenAI-compatible upstream).</summary>
    OpenAIChat,
    /// <summary>OpenAI Responses.</summary>
    OpenAIResponses,
    /// <summary>Anthropic Messages.</summary>
    Anthropic,
    /// <summary>Gemini generateContent.</summary>
    Gemini,
}
