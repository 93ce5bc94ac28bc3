using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Relay.Accounts;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Webhooks.Notifications;

/// <summary>
/// Account events and quotas reached become notifications, end to end in local mode: a real request path marks the
/// account or refuses the key, the dispatcher queues one message per subscribed target, ImDeliver sends it. "Exactly
/// one" is proven with a marker: each target's messages share a session, so once a later test message has arrived,
/// any earlier notification would have arrived before it.
/// </summary>
public sealed class NotificationEventTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Upstream401_AccountDisabled_OneNotificationPerAccountTargetWithinTheWindow()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var upstream = await LoopbackUpstream.StartAsync(Ct);
        await using var host = await RelayHost.StartAsync(azurite, NotificationKit.FastRetries());
        upstream.Script = new UpstreamScript { FailStatus = 401 };
        var accountId = await host.CreateLoopbackAccountAsync(upstream, "openai", ["m"]);
        var key = await host.CreateKeyAsync();
        var hook = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "ops", events = new[] { "account" }, url = new Uri(api.BaseUrl, "hooks/ops").AbsoluteUri, secret = NotificationKit.WebhookSecret });
        var telegram = await NotificationKit.CreateTargetAsync(host, new { type = "telegram", name = "oncall", botToken = "77:tok", chatId = "555", apiBaseUrl = api.BaseUrl.AbsoluteUri });
        var quotaOnly = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "billing", events = new[] { "quota" }, url = new Uri(api.BaseUrl, "hooks/billing").AbsoluteUri, secret = NotificationKit.WebhookSecret });
        var disabled = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "off", enabled = false, url = new Uri(api.BaseUrl, "hooks/off").AbsoluteUri, secret = NotificationKit.WebhookSecret });

        Assert.NotEqual(200, (await ChatAsync(host, key)).Status);
        await NotificationKit.ReceivedAsync(api, "/hooks/ops", 1);

        // The same mark again within the window (a second request that still reached the account): throttled.
        host.Services.GetRequiredService<AccountHealth>().ReportFailure(accountId, FailureKind.Unauthorized, "upstream answered 401");
        foreach (var target in new[] { hook, telegram, quotaOnly, disabled })
        {
            await NotificationKit.TestAsync(host, target);
        }

        var hookRequests = await NotificationKit.ReceivedAsync(api, "/hooks/ops", 1, r => NotificationKit.TypeOf(r) == "test");
        var telegramRequests = await NotificationKit.ReceivedAsync(api, "/bot77:tok/sendMessage", 1, r => NotificationKit.TelegramText(r).StartsWith("Test", StringComparison.Ordinal));
        var quotaRequests = await NotificationKit.ReceivedAsync(api, "/hooks/billing", 1);
        var offRequests = await NotificationKit.ReceivedAsync(api, "/hooks/off", 1);

        Assert.Equal(["account", "test"], api.RequestsTo("/hooks/ops").Select(NotificationKit.TypeOf));
        var account = api.RequestsTo("/hooks/ops")[0];
        NotificationKit.AssertSigned(account, NotificationKit.WebhookSecret, DateTimeOffset.UtcNow);
        var body = account.Json;
        Assert.Equal((accountId, "openai account", "disabled"), (body.GetProperty("accountId").GetString(), body.GetProperty("accountName").GetString(), body.GetProperty("status").GetString()));
        Assert.StartsWith($"Account 'openai account' ({accountId}) is disabled: ", body.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(upstream.ApiKey, Encoding.UTF8.GetString(account.Body), StringComparison.Ordinal);

        var texts = api.RequestsTo("/sendMessage").Select(NotificationKit.TelegramText).ToList();
        Assert.Equal(2, texts.Count);
        Assert.StartsWith($"Account 'openai account' ({accountId}) is disabled: ", texts[0], StringComparison.Ordinal);
        Assert.Equal(["test"], api.RequestsTo("/hooks/billing").Select(NotificationKit.TypeOf));
        Assert.Equal(["test"], api.RequestsTo("/hooks/off").Select(NotificationKit.TypeOf));
        Assert.NotEmpty(hookRequests);
        Assert.NotEmpty(telegramRequests);
        Assert.NotEmpty(quotaRequests);
        Assert.NotEmpty(offRequests);
    }

    [Fact]
    public async Task CircuitOpen_AgainWithinTheWindowThrottled_AgainAfterItNotifiedOnceMore()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var upstream = await LoopbackUpstream.StartAsync(Ct);
        await using var host = await RelayHost.StartAsync(azurite, NotificationKit.FastRetries(), time);
        var accountId = await host.CreateLoopbackAccountAsync(upstream, "openai", ["m"]);
        var hook = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "ops", url = new Uri(api.BaseUrl, "hooks/ops").AbsoluteUri, secret = NotificationKit.WebhookSecret });
        var health = host.Services.GetRequiredService<AccountHealth>();

        // Three server errors in a row open the circuit; a failed probe reopens it (raised again, within the window).
        for (var i = 0; i < 4; i++)
        {
            health.ReportFailure(accountId, FailureKind.ServerError, "upstream answered 500");
        }

        await NotificationKit.ReceivedAsync(api, "/hooks/ops", 1);
        time.Advance(TimeSpan.FromMinutes(11));
        health.ReportFailure(accountId, FailureKind.ServerError, "upstream answered 500");
        await NotificationKit.ReceivedAsync(api, "/hooks/ops", 2);
        await NotificationKit.TestAsync(host, hook);
        await NotificationKit.ReceivedAsync(api, "/hooks/ops", 1, r => NotificationKit.TypeOf(r) == "test");

        var requests = api.RequestsTo("/hooks/ops");
        Assert.Equal(["account", "account", "test"], requests.Select(NotificationKit.TypeOf));
        var first = requests[0].Json;
        Assert.Equal("circuit-open", first.GetProperty("status").GetString());
        Assert.Equal((time.GetUtcNow() - TimeSpan.FromMinutes(11) + TimeSpan.FromSeconds(30)).ToString("O"), first.GetProperty("until").GetString());
        Assert.Contains("circuit is open until ", first.GetProperty("text").GetString(), StringComparison.Ordinal);
        NotificationKit.AssertSigned(requests[1], NotificationKit.WebhookSecret, time.GetUtcNow());
    }

    [Fact]
    public async Task KeyOverItsDailyTokenQuota_OneQuotaNotificationForQuotaTargetsOnly()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var upstream = await LoopbackUpstream.StartAsync(Ct);
        await using var host = await RelayHost.StartAsync(azurite, NotificationKit.FastRetries());
        await host.CreateLoopbackAccountAsync(upstream, "openai", ["m"]);
        var (keyId, key) = await host.CreateKeyWithIdAsync(new { name = "team-a", limits = new { dailyOutputTokens = 3 } });
        var billing = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "billing", events = new[] { "quota" }, url = new Uri(api.BaseUrl, "hooks/billing").AbsoluteUri, secret = NotificationKit.WebhookSecret });
        var ops = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "ops", events = new[] { "account" }, url = new Uri(api.BaseUrl, "hooks/ops").AbsoluteUri, secret = NotificationKit.WebhookSecret });

        // The first answer spends more output tokens than the quota; its charge lands as the request ends, so the next
        // one may still pass before the refusals start.
        Assert.Equal(200, (await ChatAsync(host, key)).Status);
        await Eventually.TrueAsync("a refusal by the quota", async _ => (await ChatAsync(host, key)).Status == 429);
        Assert.Equal(429, (await ChatAsync(host, key)).Status);
        await NotificationKit.ReceivedAsync(api, "/hooks/billing", 1);
        await NotificationKit.TestAsync(host, billing);
        await NotificationKit.TestAsync(host, ops);
        await NotificationKit.ReceivedAsync(api, "/hooks/billing", 1, r => NotificationKit.TypeOf(r) == "test");
        await NotificationKit.ReceivedAsync(api, "/hooks/ops", 1);

        Assert.Equal(["quota", "test"], api.RequestsTo("/hooks/billing").Select(NotificationKit.TypeOf));
        Assert.Equal(["test"], api.RequestsTo("/hooks/ops").Select(NotificationKit.TypeOf));
        var quota = api.RequestsTo("/hooks/billing")[0];
        NotificationKit.AssertSigned(quota, NotificationKit.WebhookSecret, DateTimeOffset.UtcNow);
        var body = quota.Json;
        var tomorrow = DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(1);
        Assert.Equal((keyId, "team-a", "dailyOutputTokens", "3"), (body.GetProperty("keyId").GetString(), body.GetProperty("keyName").GetString(), body.GetProperty("limit").GetString(), body.GetProperty("amount").GetString()));
        Assert.Equal(new DateTimeOffset(tomorrow, TimeSpan.Zero), body.GetProperty("resetsAt").GetDateTimeOffset());
        Assert.Equal(
            $"Key 'team-a' ({keyId}) reached its dailyOutputTokens limit of 3; its requests are refused until {tomorrow:yyyy-MM-dd} 00:00:00 UTC.",
            body.GetProperty("text").GetString());
        Assert.DoesNotContain(key, Encoding.UTF8.GetString(quota.Body), StringComparison.Ordinal);
    }

    private static async Task<(int Status, string Body)> ChatAsync(RelayHost host, string key)
    {
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { model = "m", messages = new[] { new { role = "user", content = "hello" } } }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await client.SendAsync(request, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }
}
