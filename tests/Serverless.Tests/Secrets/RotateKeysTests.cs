using System.Security.Cryptography;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Handler.Hosting;
using Serverless.Tests.Infrastructure;
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
        Assert.Equal("rotate-keys: 2 accounts, 3 secrets re-encrypted under 'new', 0 already were, 0 unreadable", output.ToString().Trim());
        Assert.Equal("rotate-keys: 2 accounts, 0 secrets re-encrypted under 'new', 3 already were, 0 unreadable", again.ToString().Trim());
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
}
