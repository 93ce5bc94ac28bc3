using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Platforms.Slack;

/// <summary>
/// Slack's request signature (<see href="https://api.slack.com/authentication/verifying-requests-from-slack"/>):
/// <c>v0=hex(HMAC-SHA256(signingSecret, "v0:" + timestamp + ":" + rawBody))</c>, the timestamp within 5 minutes.
/// </summary>
internal static class SlackSignature
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    public static string Compute(string signingSecret, string timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes("v0:" + timestamp + ":");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingSecret), message));
    }

    /// <summary>Whether the signature matches and the timestamp is fresh; the reason when not.</summary>
    public static string? Check(string signingSecret, string? timestamp, string? signature, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        if (timestamp is null || signature is null)
        {
            return "missing X-Slack-Request-Timestamp or X-Slack-Signature";
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            || (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > MaxAge)
        {
            return "stale or invalid timestamp";
        }

        return WebhookReading.FixedTimeEquals(signature.ToLowerInvariant(), Compute(signingSecret, timestamp, body)) ? null : "signature mismatch";
    }
}
