using Microsoft.AspNetCore.Http;

namespace Serverless.Relay.Relaying;

/// <summary>Finds the relay key wherever the official SDKs put it.</summary>
internal static class ClientKeyReader
{
    /// <summary>OpenAI (<c>Authorization: Bearer</c>), Anthropic (<c>x-api-key</c>), Gemini (<c>x-goog-api-key</c>, <c>?key=</c>), Azure OpenAI (<c>api-key</c>).</summary>
    public static string? Read(HttpRequest request)
    {
        var headers = request.Headers;
        var authorization = headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return NullIfEmpty(authorization.AsSpan(7).Trim().ToString());
        }

        return NullIfEmpty(headers["x-api-key"].ToString())
            ?? NullIfEmpty(headers["x-goog-api-key"].ToString())
            ?? NullIfEmpty(headers["api-key"].ToString())
            ?? NullIfEmpty(request.Query["key"].ToString());
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
