using System.Security.Cryptography;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Handler.Hosting;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Webhooks.Notifications;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Notifications;
using Serverless.Webhooks.Platforms;
using Xunit;

namespace Serverless.Tests.Secrets;

public sealed class RotateKeysTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task RotateKeys_OldAndNewKeyListed_ReencryptsEverySecretUnderTheNewKid()
    {
        var oldKey = "old=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var newKey = "new=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string prefix;
        await using (var host = await RelayHost.StartAsync(azurite, new Dictionary<string, string?> { ["RELAY_ENCRYPTION_KEYS"] = oldKey }))
        {
            prefix = host.TablePrefix;
            await host.CreateAccountAsync(new { name = "key", provider = "openai", apiKey = "sk-1", models = new[] { "m" } });
            await host.CreateAccountAsync(new
            {
                name = "oauth",
                provider = "anthropic",
                models = new[] { "c" },
                oauth = new { accessToken = "at", refreshToken = "rt", expiresAt = DateTimeOffset.UtcNow.AddHours(1), tokenUrl = "http://127.0.0.1:9/token", clientId = "c" },
            });
        }

        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_TABLE_PREFIX"] = prefix,
            ["RELAY_ENCRYPTION_KEYS"] = newKey + ";" + oldKey,
            ["RELAY_ENCRYPTION_KEY_ID"] = "new",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        using var output = new StringWriter();

        var exit = await HandlerCommands.RunAsync(["rotate-keys"], output, c => c.AddInMemoryCollection(settings)).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        using var again = new StringWriter();
        await HandlerCommands.RunAsync(["rotate-keys"], again, c => c.AddInMemoryCollection(settings)).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal(0, exit);
        Assert.Equal(
            Lines(
                "rotate-keys: 2 rows, 3 secrets re-encrypted under 'new', 0 already were, 0 unreadable",
                "  accounts: 2 rows, 3 re-encrypted, 0 already current, 0 unreadable",
                "  channels: 0 rows, 0 re-encrypted, 0 already current, 0 unreadable",
                "  imtokens: 0 rows, 0 re-encrypted, 0 already current, 0 unreadable",
                "  notifications: 0 rows, 0 re-encrypted, 0 already current, 0 unreadable"),
            output.ToString());
        Assert.StartsWith("rotate-keys: 2 rows, 0 secrets re-encrypted under 'new', 3 already were, 0 unreadable" + Environment.NewLine, again.ToString(), StringComparison.Ordinal);
        var table = new TableClient(azurite.ConnectionString, prefix + "accounts");
        await foreach (var row in table.QueryAsync<TableEntity>(cancellationToken: TestContext.Current.CancellationToken))
        {
            foreach (var column in new[] { "ApiKey", "OAuthAccessToken", "OAuthRefreshToken" })
            {
                if (row.GetString(column) is { } stored)
                {
                    Assert.StartsWith("new:", stored, StringComparison.Ordinal);
                }
            }
        }

        // The old key can now be dropped: a relay with the new key alone reads every secret.
        await using var rotated = await RelayHost.StartAsync(azurite, new Dictionary<string, string?> { ["RELAY_ENCRYPTION_KEYS"] = newKey, ["RELAY_TABLE_PREFIX"] = prefix });
        var accounts = await rotated.Services.GetRequiredService<Serverless.Relay.Accounts.IAccountDirectory>().GetAllAsync(TestContext.Current.CancellationToken);
        Assert.Equal(["sk-1"], accounts.Where(a => a.ApiKey is not null).Select(a => a.ApiKey));
        Assert.Equal(2, accounts.Count);
    }

    [Fact]
    public async Task RotateKeys_ChannelTargetAndPlatformTokens_ReadableByARelayWithTheNewKeyAlone()
    {
        var ct = TestContext.Current.CancellationToken;
        var oldKey = "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var newKey = "k2=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string prefix, channelId, targetId;
        await using (var host = await RelayHost.StartAsync(azurite, new Dictionary<string, string?> { ["RELAY_ENCRYPTION_KEYS"] = oldKey }))
        {
            prefix = host.TablePrefix;
            var created = await host.SendAsync(HttpMethod.Post, "api/admin/channels",
                """{"platform":"telegram","name":"bot","model":"m","apiBaseUrl":"http://127.0.0.1:9","credentials":{"botToken":"tg-bot-1","secretToken":"tg-secret-2"}}""", ct: ct);
            Assert.True(created.Status == 201, created.Body);
            channelId = created.Json.GetProperty("id").GetString()!;
            targetId = await NotificationKit.CreateTargetAsync(host, new { type = "webhook", name = "ops", url = "http://127.0.0.1:9/hooks/ops", secret = NotificationKit.WebhookSecret });

            // A cached platform token, and one under a kid dropped long ago: that cache row is deleted (fetched again), not reported.
            var channel = (await host.Services.GetRequiredService<ChannelStore>().GetIfExistsAsync(channelId, ct))!;
            var tokens = host.Services.GetRequiredService<PlatformTokenStore>();
            var lease = await tokens.TryLeaseAsync(channel, await tokens.ReadAsync(channel, ct), "test", DateTimeOffset.UtcNow.AddMinutes(1), ct);
            Assert.True(await tokens.TryStoreAsync(channel, lease!.Value, "platform-token-1", DateTimeOffset.UtcNow.AddHours(1), "tg-bot-1", ct));
            await host.Table(PlatformTokenStore.Table).AddEntityAsync(new TableEntity("feishu", "chan_0000000000000000") { ["Token"] = "k0:" + Convert.ToBase64String(new byte[40]) }, ct);
        }

        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_TABLE_PREFIX"] = prefix,
            ["RELAY_ENCRYPTION_KEYS"] = newKey + ";" + oldKey,
            ["RELAY_ENCRYPTION_KEY_ID"] = "k2",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        using var output = new StringWriter();
        var exit = await HandlerCommands.RunAsync(["rotate-keys"], output, c => c.AddInMemoryCollection(settings)).WaitAsync(TimeSpan.FromSeconds(60), ct);
        using var again = new StringWriter();
        await HandlerCommands.RunAsync(["rotate-keys"], again, c => c.AddInMemoryCollection(settings)).WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.Equal(0, exit);
        Assert.Equal(
            Lines(
                "rotate-keys: 4 rows, 3 secrets re-encrypted under 'k2', 0 already were, 0 unreadable",
                "  accounts: 0 rows, 0 re-encrypted, 0 already current, 0 unreadable",
                "  channels: 1 rows, 1 re-encrypted, 0 already current, 0 unreadable",
                "  imtokens: 2 rows, 1 re-encrypted, 0 already current, 0 unreadable, 1 unreadable cached rows deleted",
                "  notifications: 1 rows, 1 re-encrypted, 0 already current, 0 unreadable"),
            output.ToString());
        Assert.Equal(
            Lines(
                "rotate-keys: 3 rows, 0 secrets re-encrypted under 'k2', 3 already were, 0 unreadable",
                "  accounts: 0 rows, 0 re-encrypted, 0 already current, 0 unreadable",
                "  channels: 1 rows, 0 re-encrypted, 1 already current, 0 unreadable",
                "  imtokens: 1 rows, 0 re-encrypted, 1 already current, 0 unreadable",
                "  notifications: 1 rows, 0 re-encrypted, 1 already current, 0 unreadable"),
            again.ToString());

        // k1 dropped: the channel's webhook is verified with its decrypted secret token, the target and token read back.
        await using var rotated = await RelayHost.StartAsync(azurite, new Dictionary<string, string?> { ["RELAY_ENCRYPTION_KEYS"] = newKey, ["RELAY_TABLE_PREFIX"] = prefix });
        Assert.Equal(200, await TelegramWebhookAsync(rotated, channelId, "tg-secret-2", ct));
        Assert.Equal(401, await TelegramWebhookAsync(rotated, channelId, "tg-secret-x", ct));
        var read = (await rotated.Services.GetRequiredService<ChannelStore>().GetIfExistsAsync(channelId, ct))!;
        Assert.Equal("tg-bot-1", read.Credentials["botToken"]);
        var target = (await rotated.Services.GetRequiredService<NotificationStore>().GetIfExistsAsync(targetId, ct))!;
        Assert.Equal(NotificationKit.WebhookSecret, target.Settings["secret"]);
        var token = await rotated.Services.GetRequiredService<PlatformTokenStore>().ReadAsync(read, ct);
        Assert.Equal("platform-token-1", token.Row?.Token);
        var cached = await rotated.Table(PlatformTokenStore.Table).GetEntityIfExistsAsync<TableEntity>("feishu", "chan_0000000000000000", cancellationToken: ct);
        Assert.False(cached.HasValue);
    }

    private static string Lines(params string[] lines) => string.Concat(lines.Select(line => line + Environment.NewLine));

    /// <summary>An update without a message: verified (200, then ignored) or refused, never handed on, so nothing is queued.</summary>
    private static async Task<int> TelegramWebhookAsync(RelayHost host, string channelId, string secretToken, CancellationToken ct)
    {
        using var http = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"webhooks/telegram/{channelId}") { Content = new StringContent("""{"update_id":7}""", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", secretToken);
        using var response = await http.SendAsync(request, ct);
        return (int)response.StatusCode;
    }
}
