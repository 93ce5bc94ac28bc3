using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Webhooks.EndToEnd;

/// <summary>A channel created through the admin API, and the driver that signs its webhooks.</summary>
internal sealed record ImChannel(string Id, string KeyId, string WebhookPath, ImDriver Driver);

/// <summary>What the webhook answered, and how long it took (platforms give up after 3 s).</summary>
internal sealed record WebhookAnswer(int Status, string Body, TimeSpan Elapsed);

/// <summary>
/// One test's world around a running handler: its own loopback upstream (an account serving a model no other test
/// uses), its own simulated platform APIs, and channels created through the admin API pointed at them. Everything a
/// test waits for (a reply at the platform, a pending row's state) is polled with <see cref="Eventually"/>.
/// </summary>
internal sealed class ImScenario : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private readonly string _adminKey;
    private HttpClient _admin;
    private HttpClient _webhooks;

    private ImScenario(Uri relay, string adminKey, TimeProvider clock, LoopbackUpstream upstream, SimulatedPlatformApi api)
    {
        Clock = clock;
        Upstream = upstream;
        Api = api;
        _adminKey = adminKey;
        (_admin, _webhooks) = Clients(relay, adminKey);
    }

    /// <summary>From now on talk to another instance of the app (same storage), e.g. the one started after a crash.</summary>
    public void UseRelay(Uri relay)
    {
        _admin.Dispose();
        _webhooks.Dispose();
        (_admin, _webhooks) = Clients(relay, _adminKey);
    }

    private static (HttpClient Admin, HttpClient Webhooks) Clients(Uri relay, string adminKey)
    {
        var admin = new HttpClient { BaseAddress = relay, Timeout = Wait };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        return (admin, new HttpClient { BaseAddress = relay, Timeout = Wait });
    }

    /// <summary>The relay's clock (platforms that sign a timestamp sign this one).</summary>
    public TimeProvider Clock { get; }

    public LoopbackUpstream Upstream { get; }

    public SimulatedPlatformApi Api { get; }

    /// <summary>The model the channels ask for: served only by this scenario's account.</summary>
    public string Model { get; } = "im-" + Guid.NewGuid().ToString("N")[..12];

    public static Task<ImScenario> StartAsync(ImFlowHost host) => StartAsync(host.Host.BaseUri, RelayHost.AdminKey, host.Clock);

    public static async Task<ImScenario> StartAsync(Uri relay, string adminKey, TimeProvider clock)
    {
        var upstream = await LoopbackUpstream.StartAsync(CancellationToken.None);
        var api = await SimulatedPlatformApi.StartAsync();
        var scenario = new ImScenario(relay, adminKey, clock, upstream, api);
        await scenario.AdminAsync(HttpMethod.Post, "api/admin/accounts", new
        {
            name = "im upstream",
            provider = "openai",
            baseUrl = upstream.OpenAIBaseUrl,
            apiKey = upstream.ApiKey,
            models = new[] { scenario.Model },
        });
        return scenario;
    }

    /// <summary><c>POST /api/admin/channels</c> for <paramref name="driver"/>'s platform, pointed at this scenario's platform API; <paramref name="extra"/> adds fields (keyId, perUserLimits).</summary>
    public async Task<ImChannel> CreateChannelAsync(ImDriver driver, IReadOnlyDictionary<string, object?>? extra = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["platform"] = driver.Platform,
            ["name"] = driver.Platform + " bot",
            ["model"] = Model,
            ["apiBaseUrl"] = driver.ApiBaseUrl(Api).ToString().TrimEnd('/'),
            ["credentials"] = driver.Credentials,
        };
        foreach (var (field, value) in extra ?? new Dictionary<string, object?>())
        {
            body[field] = value;
        }

        var created = await AdminAsync(HttpMethod.Post, "api/admin/channels", body);
        return new ImChannel(created.GetProperty("id").GetString()!, created.GetProperty("keyId").GetString()!, created.GetProperty("webhookUrl").GetString()!, driver);
    }

    /// <summary>A client key made through the admin API (for a channel's <c>keyId</c>); returns its id.</summary>
    public async Task<string> CreateKeyAsync(object limits)
    {
        var created = await AdminAsync(HttpMethod.Post, "api/admin/keys", new { name = "im key", models = new[] { Model }, limits });
        return created.GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> AdminAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await _admin.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path} failed: {(int)response.StatusCode} {text}");
        }

        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Posts <paramref name="message"/> as the platform would, signed (or not) on the relay's clock.</summary>
    public async Task<WebhookAnswer> PostAsync(ImChannel channel, ImText message, bool badSignature = false)
    {
        using var request = channel.Driver.Webhook(channel.WebhookPath, message, Api, Clock.GetUtcNow(), badSignature);
        return await SendAsync(request);
    }

    /// <summary>Sends a request the test built (a url check), as the platform would.</summary>
    public async Task<WebhookAnswer> SendAsync(HttpRequestMessage request)
    {
        var stopwatch = Stopwatch.StartNew();
        using var response = await _webhooks.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return new WebhookAnswer((int)response.StatusCode, body, stopwatch.Elapsed);
    }

    /// <summary>Posts and asserts the platform got its 2xx.</summary>
    public async Task AcceptedAsync(ImChannel channel, ImText message)
    {
        var answer = await PostAsync(channel, message);
        Assert.True(answer.Status == 200, $"webhook answered {answer.Status} {answer.Body}");
    }

    /// <summary>Waits for at least <paramref name="count"/> reply calls at the platform API; returns all of them in arrival order.</summary>
    public Task<IReadOnlyList<PlatformRequest>> RepliesAsync(ImDriver driver, int count) =>
        Eventually.ValueAsync(
            $"{count} reply call(s) to {driver.ReplyPath}",
            _ => Task.FromResult(Api.RequestsTo(driver.ReplyPath)),
            replies => replies.Count >= count,
            replies => string.Join(" | ", replies.Select(r => r.Path + " " + System.Text.Encoding.UTF8.GetString(r.Body))),
            Wait);

    /// <summary>The channel's pending rows (admin API), newest first.</summary>
    public async Task<IReadOnlyList<JsonElement>> PendingAsync(ImChannel channel)
    {
        var list = await AdminAsync(HttpMethod.Get, $"api/admin/channels/{channel.Id}/pending");
        return [.. list.GetProperty("data").EnumerateArray()];
    }

    /// <summary>Waits until the pending row of <paramref name="message"/> is in <paramref name="state"/>; returns the row.</summary>
    public Task<JsonElement> PendingStateAsync(ImChannel channel, ImText message, string state)
    {
        var key = channel.Driver.KeyOf(message);
        return Eventually.ValueAsync(
            $"pending row {key} of {channel.Id} {state}",
            async _ => (await PendingAsync(channel)).FirstOrDefault(r => r.GetProperty("messageKey").GetString() == key),
            row => row.ValueKind == JsonValueKind.Object && row.GetProperty("state").GetString() == state,
            timeout: Wait);
    }

    /// <summary>The user messages of each upstream chat request, in order (the conversation the model was shown).</summary>
    public IReadOnlyList<IReadOnlyList<(string Role, string Content)>> UpstreamConversations() =>
        [.. Upstream.Requests.Select(r =>
        {
            using var document = JsonDocument.Parse(r.Body);
            return (IReadOnlyList<(string, string)>)[.. document.RootElement.GetProperty("messages").EnumerateArray()
                .Select(m => (m.GetProperty("role").GetString()!, ContentOf(m.GetProperty("content"))))];
        })];

    private static string ContentOf(JsonElement content) => content.ValueKind == JsonValueKind.String
        ? content.GetString()!
        : string.Concat(content.EnumerateArray().Select(p => p.GetProperty("text").GetString()));

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        _webhooks.Dispose();
        await Api.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
