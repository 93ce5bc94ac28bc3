using Azure.Data.Tables;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Functions;
using Serverless.Relay.Keys;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Xunit;
using Serverless.Relay;

namespace Serverless.Tests.Storage;

public sealed class RelayStorageTests(AzuriteFixture azurite)
{
    private static readonly string ValidKeys = "k1=" + StorageTestKit.Key1;

    [Theory]
    [InlineData(null, "", "AzureWebJobsStorage is not set: set it to the storage account connection string, or set AzureWebJobsStorage__accountName (or AzureWebJobsStorage__tableServiceUri) to use a managed identity.")]
    [InlineData("not a connection string", "", "AzureWebJobsStorage is not a valid storage connection string.")]
    [InlineData("UseDevelopmentStorage=true", "1abc", "RELAY_TABLE_PREFIX must start with a letter and hold only letters and digits, at most 40 characters.")]
    [InlineData("UseDevelopmentStorage=true", "ab-c", "RELAY_TABLE_PREFIX must start with a letter and hold only letters and digits, at most 40 characters.")]
    public void Validate_BadStorageSetting_FailsNamingTheSetting(string? connectionString, string prefix, string expected)
    {
        using var services = StorageTestKit.Services(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["RELAY_TABLE_PREFIX"] = prefix,
            ["RELAY_ENCRYPTION_KEYS"] = ValidKeys,
        });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(expected, error.Message);
    }

    [Theory]
    [InlineData(null, null, "RELAY_ENCRYPTION_KEYS is not set: set it to kid=<base64 of 32 random bytes>, e.g. k1=<output of `openssl rand -base64 32`>.")]
    [InlineData(" ; ", null, "RELAY_ENCRYPTION_KEYS is not set: set it to kid=<base64 of 32 random bytes>, e.g. k1=<output of `openssl rand -base64 32`>.")]
    [InlineData("k1=AAAA", null, "RELAY_ENCRYPTION_KEYS: key 'k1' must be the base64 of exactly 32 bytes.")]
    [InlineData("k1=not base64!", null, "RELAY_ENCRYPTION_KEYS: key 'k1' must be the base64 of exactly 32 bytes.")]
    [InlineData("justakey", null, "RELAY_ENCRYPTION_KEYS: entry 1 must read kid=<base64>, the kid made of letters, digits, '-' or '_' (at most 32).")]
    [InlineData("VALID", "k9", "RELAY_ENCRYPTION_KEY_ID is 'k9', which RELAY_ENCRYPTION_KEYS does not list.")]
    [InlineData("VALID;VALID", null, "RELAY_ENCRYPTION_KEYS: key 'k1' is listed twice.")]
    public void Validate_BadEncryptionSetting_FailsNamingTheSetting(string? keys, string? keyId, string expected)
    {
        using var services = StorageTestKit.Services(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["RELAY_ENCRYPTION_KEYS"] = keys?.Replace("VALID", ValidKeys, StringComparison.Ordinal),
            ["RELAY_ENCRYPTION_KEY_ID"] = keyId,
        });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public async Task Validate_GoodSettings_Passes()
    {
        // NOTE: asynchronous disposal: the admin functions hold the key limiter (through the quota reader), which only disposes so.
        await using var services = StorageTestKit.Services(StorageTestKit.Settings(azurite, "okprefix"));

        services.GetRequiredService<IStartupValidator>().Validate();

        Assert.Single(services.GetServices<IHttpFunction>(), f => f.Name == "Admin");
        Assert.Same(services.GetRequiredService<UsageWriter>(), services.GetRequiredService<IUsageSink>());
        Assert.Same(services.GetRequiredService<ClientKeyAuthenticator>(), services.GetRequiredService<IClientKeyAuthenticator>());
        Assert.Same(services.GetRequiredService<AccountDirectory>(), services.GetRequiredService<IAccountDirectory>());
    }

    [Fact]
    public async Task Start_StorageNeverAnswers_StartsAnyway()
    {
        var ct = TestContext.Current.CancellationToken;
        // A listener that accepts connections and never answers: a storage call made during start-up would hang for
        // the SDK's network timeout (100 s), so a start that completes at all did not wait on storage. No clock needed.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var settings = StorageTestKit.Settings(azurite, "unreachable");
        settings["AzureWebJobsStorage"] = azurite.ConnectionString.Replace($":{azurite.TablePort}/", $":{port}/", StringComparison.Ordinal);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddRelayStorage(builder.Configuration);
        await using var app = builder.Build();

        await app.StartAsync(ct).WaitAsync(StorageTestKit.Timeout, ct);
        await app.StopAsync(ct).WaitAsync(StorageTestKit.Timeout, ct);

        Assert.False(await app.Services.GetRequiredService<RelayTableInitializer>().Ready.WaitAsync(StorageTestKit.Timeout, ct));
    }

    [Fact]
    public async Task GetAsync_ConcurrentFirstUse_CreatesPrefixedTableOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var prefix = StorageTestKit.UniquePrefix("tables");
        using var services = StorageTestKit.Services(StorageTestKit.Settings(azurite, prefix));
        var tables = services.GetRequiredService<RelayTables>();

        var clients = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => tables.GetAsync(RelayTables.Usage, ct).AsTask())).WaitAsync(StorageTestKit.Timeout, ct);
        var again = tables.GetAsync(RelayTables.Usage, ct);

        Assert.All(clients, c => Assert.Equal(prefix + "usage", c.Name));
        Assert.True(again.IsCompletedSuccessfully);
        var service = new TableServiceClient(azurite.ConnectionString);
        var found = new List<string>();
        await foreach (var table in service.QueryAsync(t => t.Name == prefix + "usage", cancellationToken: ct))
        {
            found.Add(table.Name);
        }

        Assert.Equal([prefix + "usage"], found);
    }
}
