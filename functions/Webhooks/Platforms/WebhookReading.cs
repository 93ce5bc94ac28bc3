using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Serverless.Webhooks.Platforms;

/// <summary>What every platform's <see cref="IImPlatform.Read"/> shares: constant-time compares, the JSON body, the common verdicts.</summary>
internal static class WebhookReading
{
    public static readonly WebhookVerdict BadSignature = new WebhookVerdict.Refused(401, "signature mismatch");

    public static WebhookVerdict Malformed(string what) => new WebhookVerdict.Refused(400, what);

    public static WebhookVerdict NotText(string type) => new WebhookVerdict.Ignored($"not a text message ({type})");

    /// <summary>Compares two texts in time that depends only on their lengths (their UTF-8 bytes).</summary>
    public static bool FixedTimeEquals(string? actual, string expected) =>
        actual is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(actual), Encoding.UTF8.GetBytes(expected));

    public static string? Header(WebhookRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    /// <summary>The body as a JSON object; null when it is not JSON or not an object.</summary>
    public static JsonDocument? ParseObject(ReadOnlyMemory<byte> body)
    {
        try
        {
            var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
