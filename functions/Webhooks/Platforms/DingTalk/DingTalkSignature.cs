using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Platforms.DingTalk;

/// <summary>
/// The signature DingTalk puts on robot callbacks (headers <c>timestamp</c>, in ms, and <c>sign</c>):
/// <c>Base64(HMAC-SHA256(appSecret, timestamp + "\n" + appSecret))</c>, the timestamp within an hour.
/// NOTE: it does not cover the body, so a captured request can be replayed within the hour with another body: the
/// dedup on msgId and the sessionWebhook origin check are what keep that harmless.
/// </summary>
internal static class DingTalkSignature
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromHours(1);

    public static string Compute(string appSecret, string timestamp) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(appSecret), Encoding.UTF8.GetBytes(timestamp + "\n" + appSecret)));

    /// <summary>Null when the request is signed and fresh, else the reason.</summary>
    public static string? Check(string appSecret, string? timestamp, string? sign, DateTimeOffset now)
    {
        if (timestamp is null || sign is null)
        {
            return "missing timestamp or sign header";
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            || (now - DateTimeOffset.FromUnixTimeMilliseconds(ms)).Duration() > MaxAge)
        {
            return "stale or invalid timestamp";
        }

        return WebhookReading.FixedTimeEquals(sign, Compute(appSecret, timestamp)) ? null : "signature mismatch";
    }
}
