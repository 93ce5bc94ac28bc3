using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// A generic webhook: POSTs <c>{"type": "account"|"quota"|"test", "text": …, …the event's fields, "at": …}</c> with
/// <c>X-Relay-Timestamp</c> (Unix seconds) and <c>X-Relay-Signature: sha256=&lt;hex HMAC-SHA256(secret, timestamp + "." +
/// body)&gt;</c>, so the receiver can check it came from us and is fresh. A 429, 5xx or network failure is retried by
/// the queue; any other 4xx is final.
/// </summary>
internal sealed class WebhookNotificationSender(PlatformHttp http, TimeProvider time) : INotificationSender
{
    public const string TimestampHeader = "X-Relay-Timestamp";
    public const string SignatureHeader = "X-Relay-Signature";

    public NotificationType Type => NotificationType.Webhook;

    /// <summary>The <see cref="SignatureHeader"/> value for <paramref name="body"/> sent at <paramref name="timestamp"/>.</summary>
    public static string Sign(string secret, string timestamp, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));

    public static string Body(string text, OutboundNotification notification)
    {
        var body = new JsonObject { ["type"] = notification.Event, ["text"] = text };
        foreach (var (name, value) in notification.Fields)
        {
            body.TryAdd(name, value);
        }

        body["at"] = notification.At.ToString("O", CultureInfo.InvariantCulture);
        return body.ToJsonString();
    }

    public Task<DeliveryResult> SendAsync(NotificationTarget target, string text, OutboundNotification notification, CancellationToken cancellationToken)
    {
        var body = Body(text, notification);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.Setting(NotificationTypes.Url)!))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, Sign(target.Setting(NotificationTypes.Secret)!, timestamp, body));
        return NotificationApi.PostAsync(http.Client, request, "Webhook", answer => PlatformApi.FromStatus(answer, "Webhook"), cancellationToken);
    }
}
