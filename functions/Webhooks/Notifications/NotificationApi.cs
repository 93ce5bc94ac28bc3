using System.Globalization;
using System.Text.Json;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// What the chat bots' incoming webhooks share: a JSON POST, then a 200 whose body carries its own result code
/// (<c>errcode</c> for DingTalk and WeCom, <c>code</c> or <c>StatusCode</c> for Feishu). NOTE: reasons name the type and
/// code only, never the URL (it holds the access token) nor the answer body.
/// </summary>
internal static class NotificationApi
{
    public static async Task<DeliveryResult> PostAsync(HttpClient client, HttpRequestMessage request, string type, Func<ApiAnswer, DeliveryResult> read, CancellationToken cancellationToken)
    {
        using (request)
        {
            var (answer, failure) = await PlatformApi.SendAsync(client, request, type, cancellationToken).ConfigureAwait(false);
            return answer is null ? failure! : read(answer);
        }
    }

    /// <summary>A 2xx with a code of 0 (or none) is delivered; a code in <paramref name="rateLimited"/> waits; any other code is permanent.</summary>
    public static DeliveryResult ReadCode(ApiAnswer answer, string type, IReadOnlyList<string> codeFields, IReadOnlyList<long> rateLimited)
    {
        var byStatus = PlatformApi.FromStatus(answer, type);
        if (byStatus is not DeliveryResult.Delivered || answer.Json() is not { } json)
        {
            return byStatus;
        }

        foreach (var field in codeFields)
        {
            if (json.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var code) && code != 0)
            {
                return rateLimited.Contains(code)
                    ? new DeliveryResult.RetryAfter(PlatformApi.DefaultRetryAfter)
                    : new DeliveryResult.Failed(true, $"{type} answered code {code.ToString(CultureInfo.InvariantCulture)}");
            }
        }

        return byStatus;
    }
}
