using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Webhooks.Platforms;

/// <summary>A platform API's answer: its status, body and <c>Retry-After</c>.</summary>
internal sealed record ApiAnswer(HttpStatusCode Status, byte[] Body, TimeSpan? RetryAfter)
{
    /// <summary>The body as a JSON object, or null when it is not one.</summary>
    public JsonElement? Json()
    {
        try
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// One call to a platform API and the mapping every platform shares: 429 → retry after, 5xx and network errors →
/// transient, other 4xx → permanent. NOTE: failure reasons name the platform and status only, never the URL (Telegram's
/// holds the bot token) nor the answer body (it can echo credentials).
/// </summary>
internal static class PlatformApi
{
    /// <summary>When a platform says 429 without saying how long to wait.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>The channel's API origin joined with <paramref name="path"/>, exactly one slash between (the origin may carry a path, as Slack's does).</summary>
    public static Uri Join(Uri baseUrl, string path) => new(baseUrl.ToString().TrimEnd('/') + "/" + path.TrimStart('/'), UriKind.Absolute);

    public static HttpContent JsonBody(JsonObject body) =>
        new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");

    public static HttpRequestMessage Post(Uri url, JsonObject body, string? bearer = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonBody(body) };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return request;
    }

    /// <summary>Sends; the answer, or the transient failure a network error or timeout is.</summary>
    public static async Task<(ApiAnswer? Answer, DeliveryResult.Failed? Failure)> SendAsync(
        HttpClient client, HttpRequestMessage request, string platform, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return (new ApiAnswer(response.StatusCode, body, RetryAfterOf(response)), null);
        }
        catch (HttpRequestException e)
        {
            return (null, new DeliveryResult.Failed(false, $"{platform} API unreachable ({e.HttpRequestError})"));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, new DeliveryResult.Failed(false, $"{platform} API timed out"));
        }
    }

    /// <summary>The shared status mapping, for answers a platform's own rules did not settle.</summary>
    public static DeliveryResult FromStatus(ApiAnswer answer, string platform)
    {
        var status = (int)answer.Status;
        return status switch
        {
            >= 200 and < 300 => new DeliveryResult.Delivered(),
            429 => new DeliveryResult.RetryAfter(answer.RetryAfter ?? DefaultRetryAfter),
            >= 500 or 408 => new DeliveryResult.Failed(false, $"{platform} API answered {status}"),
            _ => new DeliveryResult.Failed(true, $"{platform} API answered {status}"),
        };
    }

    // NOTE: only the delta form: the platforms here send seconds, and a date would need the clock of the sender. Feishu's
    // gateway sends no Retry-After but x-ogw-ratelimit-reset, in seconds, and asks that it be waited for
    // (https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control).
    private static TimeSpan? RetryAfterOf(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta
        ?? (response.Headers.TryGetValues("x-ogw-ratelimit-reset", out var reset)
            && long.TryParse(reset.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= MaxResetSeconds
                ? TimeSpan.FromSeconds(seconds)
                : null);

    /// <summary>A reset longer than a day is not a rate-limit window: the default wait applies instead.</summary>
    private const long MaxResetSeconds = 24 * 60 * 60;
}
