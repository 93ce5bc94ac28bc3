using Microsoft.AspNetCore.Http;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Reads a Gemini path, <c>{model}:{method}</c>, into the method and the <see cref="RouteHints"/> of the request, so
/// Gemini's URL conventions stay with the Gemini client API.
/// </summary>
internal static class GeminiRoute
{
    public const string Generate = "generateContent";
    public const string StreamGenerate = "streamGenerateContent";
    public const string CountTokens = "countTokens";

    public static (string Method, RouteHints Hints) Read(string path, IQueryCollection query)
    {
        var colon = path.LastIndexOf(':');
        var model = colon > 0 ? path[..colon] : path;
        var method = colon > 0 ? path[(colon + 1)..] : "";
        var stream = method == StreamGenerate;

        // Without alt=sse, streamGenerateContent answers one JSON array instead of server-sent events.
        var framing = stream && !string.Equals(query["alt"], "sse", StringComparison.OrdinalIgnoreCase) ? StreamFraming.JsonArray : StreamFraming.Sse;
        return (method, new RouteHints(model, stream, framing));
    }
}
