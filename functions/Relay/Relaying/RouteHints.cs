namespace Serverless.Relay.Relaying;

/// <summary>How a streamed answer is framed for the client.</summary>
internal enum StreamFraming
{
    /// <summary>Server-sent events: every API's default.</summary>
    Sse,

    /// <summary>One JSON array whose elements arrive as produced (Gemini's <c>streamGenerateContent</c> without <c>alt=sse</c>).</summary>
    JsonArray,
}

/// <summary>
/// What a client API's URL says about the request, for APIs that put part of it there. Only the Gemini client API
/// sets them (<see cref="GeminiRoute"/>): the model and the stream choice travel in its path, and the framing in its
/// query. They are read into the <see cref="RelayRequest"/> once; the forwarder never sees the URL.
/// </summary>
internal readonly record struct RouteHints(string? Model, bool Stream, StreamFraming Framing)
{
    /// <summary>A body-driven API (OpenAI, Anthropic): everything is in the body.</summary>
    public static RouteHints None => default;
}
