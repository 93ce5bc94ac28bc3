using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Webhooks.Notifications;

/// <summary>Shared steps of the notification tests: a relay whose queues retry at once, targets made through the admin API, receivers awaited.</summary>
internal static class NotificationKit
{
    public const string WebhookSecret = "whsec-0123456789abcdef";

    /// <summary>Local queue retries under a second (visible again at once) and few deliveries, so a retry test is quick.</summary>
    public static Dictionary<string, string?> FastRetries() => new()
    {
        ["LocalQueues:RetryDelay"] = "00:00:00.010",
        ["LocalQueues:MaxRetryDelay"] = "00:00:00.010",
        ["LocalQueues:MaxDeliveryCount"] = "4",
    };

    public static async Task<string> CreateTargetAsync(RelayHost host, object body)
    {
        var answer = await host.SendAsync(HttpMethod.Post, "api/admin/notifications", JsonSerializer.Serialize(body), ct: TestContext.Current.CancellationToken);
        Assert.True(answer.Status == 201, answer.Body);
        return answer.Json.GetProperty("id").GetString()!;
    }

    public static async Task TestAsync(RelayHost host, string targetId)
    {
        var answer = await host.SendAsync(HttpMethod.Post, $"api/admin/notifications/{targetId}/test", "{}", ct: TestContext.Current.CancellationToken);
        Assert.True(answer.Status == 200, answer.Body);
    }

    /// <summary>Waits until <paramref name="pathEnd"/> received at least <paramref name="count"/> requests matching <paramref name="match"/>.</summary>
    public static Task<IReadOnlyList<PlatformRequest>> ReceivedAsync(SimulatedPlatformApi api, string pathEnd, int count, Func<PlatformRequest, bool>? match = null) =>
        Eventually.ValueAsync(
            $"{count} request(s) to {pathEnd}",
            _ => Task.FromResult<IReadOnlyList<PlatformRequest>>([.. api.RequestsTo(pathEnd).Where(r => match?.Invoke(r) ?? true)]),
            found => found.Count >= count,
            found => $"{found.Count} request(s)",
            TimeSpan.FromSeconds(30));

    public static string TypeOf(PlatformRequest request) => request.Json.GetProperty("type").GetString()!;

    public static string TelegramText(PlatformRequest request) => request.Json.GetProperty("text").GetString()!;

    /// <summary>Checks the webhook signature as a receiver would, with its own HMAC: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)).</summary>
    public static void AssertSigned(PlatformRequest request, string secret, DateTimeOffset now)
    {
        var timestamp = request.Header("X-Relay-Timestamp");
        Assert.NotNull(timestamp);
        Assert.InRange(long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture), now.AddMinutes(-5).ToUnixTimeSeconds(), now.AddMinutes(5).ToUnixTimeSeconds());
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + ".").Concat(request.Body).ToArray()));
        Assert.Equal(expected, request.Header("X-Relay-Signature"));
    }
}
