using System.Net.Http.Headers;
using System.Text;

namespace Serverless.Tests.EndToEnd;

/// <summary>A hand-written chat request body, sent the way its client API sends one: its route and its place for the key.</summary>
internal static class ClientRequest
{
    /// <param name="client">anthropic, openai-responses, gemini, or (anything else) openai-chat.</param>
    /// <param name="model">Gemini's goes in the URL; the other APIs take the body's.</param>
    public static HttpRequestMessage Post(string client, string model, string key, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, client switch
        {
            "anthropic" => "v1/messages",
            "openai-responses" => "v1/responses",
            "gemini" => $"v1beta/models/{model}:generateContent",
            _ => "v1/chat/completions",
        })
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        switch (client)
        {
            case "anthropic":
                request.Headers.Add("x-api-key", key);
                request.Headers.Add("anthropic-version", "2023-06-01");
                break;
            case "gemini":
                request.Headers.Add("x-goog-api-key", key);
                break;
            default:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                break;
        }

        return request;
    }
}
