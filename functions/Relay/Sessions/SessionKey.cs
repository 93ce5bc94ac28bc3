using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Sessions;

/// <summary>
/// Which conversation a request belongs to, from what clients already send: an <c>x-session-id</c> header, OpenAI
/// <c>prompt_cache_key</c>, Anthropic <c>metadata.user_id</c> or OpenAI <c>user</c>; else a hash of the system prompt
/// and the first user message (the same for every turn of one conversation).
/// </summary>
internal static class SessionKey
{
    public const string Header = "x-session-id";

    /// <summary>
    /// The binding's storage key: a hash of the relay key, the model and the session id, so two clients or two models
    /// never share a binding and no client text is stored. Null when the request carries nothing to identify it.
    /// </summary>
    public static string? Of(HttpRequest httpRequest, string clientKeyId, ChatRequest request, JsonElement body) =>
        Of(clientKeyId, request, ClientHint(httpRequest.Headers, body));

    /// <summary>The binding's storage key from a hint read once when the request arrived (see <see cref="ClientHint"/>).</summary>
    public static string? Of(string clientKeyId, ChatRequest request, string? clientHint)
    {
        // The readers put Anthropic metadata.user_id and OpenAI user in ChatRequest.User.
        var id = clientHint ?? (string.IsNullOrEmpty(request.User) ? null : "u:" + request.User) ?? Derived(request);
        if (id is null)
        {
            return null;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', clientKeyId, request.Model.ToLowerInvariant(), id)));
        return Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }

    /// <summary>
    /// The session id the client sent outside the canonical request: an <c>x-session-id</c> header, or OpenAI's
    /// <c>prompt_cache_key</c> in the body. Null when it sent neither.
    /// </summary>
    public static string? ClientHint(IHeaderDictionary? headers, JsonElement body)
    {
        var header = headers?[Header].ToString();
        if (!string.IsNullOrEmpty(header))
        {
            return "h:" + header;
        }

        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("prompt_cache_key", out var cacheKey) && cacheKey.ValueKind == JsonValueKind.String && cacheKey.GetString() is { Length: > 0 } key)
        {
            return "c:" + key;
        }

        return null;
    }

    private static string? Derived(ChatRequest request)
    {
        var text = new StringBuilder();
        foreach (var part in request.System)
        {
            text.Append(part.Text).Append('\n');
        }

        text.Append('\u0001');
        foreach (var message in request.Messages)
        {
            if (message.Role != ChatRole.User)
            {
                continue;
            }

            foreach (var part in message.Content)
            {
                if (part is TextPart textPart)
                {
                    text.Append(textPart.Text);
                }
            }

            break;
        }

        return text.Length <= 1 ? null : "p:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
