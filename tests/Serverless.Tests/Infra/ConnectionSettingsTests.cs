using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Relay.Connections;
using Serverless.Relay.Storage;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Infra;

/// <summary>Storage and Service Bus settings resolve as the Functions host reads them: connection string or identity.</summary>
public sealed class ConnectionSettingsTests
{
    private const string DevelopmentStorage = "UseDevelopmentStorage=true";

    [Fact]
    public void Resolve_ConnectionString_WinsOverIdentitySettings()
    {
        var errors = new List<string>();

        var connection = StorageConnection.Resolve(new RelayStorageOptions { ConnectionString = DevelopmentStorage, AccountName = "relaystore", Credential = "managedidentity" }, errors);

        Assert.Empty(errors);
        Assert.Equal(DevelopmentStorage, connection!.ConnectionString);
        Assert.Null(connection.Credential);
        Assert.Null(connection.TableServiceUri);
    }

    [Fact]
    public void Resolve_AccountNameWithManagedIdentityAndClientId_DerivesEndpointsForThatIdentity()
    {
        var errors = new List<string>();

        var connection = StorageConnection.Resolve(new RelayStorageOptions { AccountName = "relaystore", Credential = "managedidentity", ClientId = "11111111-2222-3333-4444-555555555555" }, errors);

        Assert.Empty(errors);
        Assert.Equal(new Uri("https://relaystore.table.core.windows.net/"), connection!.TableServiceUri);
        Assert.Equal(new Uri("https://relaystore.queue.core.windows.net/"), connection.QueueServiceUri);
        Assert.Equal(new Uri("https://relaystore.blob.core.windows.net/"), connection.BlobServiceUri);
        Assert.Equal(new ConnectionCredential(CredentialKind.ManagedIdentity, "11111111-2222-3333-4444-555555555555"), connection.Credential);
        Assert.IsType<ManagedIdentityCredential>(connection.Credential!.Create());
    }

    [Fact]
    public void Resolve_ServiceUriWithoutCredential_UsesDefaultAzureCredential()
    {
        var errors = new List<string>();

        var connection = StorageConnection.Resolve(new RelayStorageOptions { TableServiceUri = "https://private.example.net/" }, errors);

        Assert.Empty(errors);
        Assert.Equal(new Uri("https://private.example.net/"), connection!.TableServiceUri);
        Assert.Null(connection.QueueServiceUri);
        Assert.Equal(new ConnectionCredential(CredentialKind.Default, null), connection.Credential);
        Assert.IsType<DefaultAzureCredential>(connection.Credential!.Create());
        using var transport = RelayTableClientOptions.CreateTransport(new StorageTransportOptions());
        Assert.Equal(new Uri("https://private.example.net/"), connection.CreateTableServiceClient(transport).Uri);
    }

    [Fact]
    public void Resolve_ServiceUriAndAccountName_ServiceUriWins()
    {
        var errors = new List<string>();

        var connection = StorageConnection.Resolve(new RelayStorageOptions { AccountName = "relaystore", TableServiceUri = "https://relaystore-secondary.table.core.windows.net/" }, errors);

        Assert.Equal(new Uri("https://relaystore-secondary.table.core.windows.net/"), connection!.TableServiceUri);
        Assert.Equal(new Uri("https://relaystore.queue.core.windows.net/"), connection.QueueServiceUri);
    }

    [Theory]
    [InlineData(null, null, null, null, "AzureWebJobsStorage is not set: set it to the storage account connection string, or set AzureWebJobsStorage__accountName (or AzureWebJobsStorage__tableServiceUri) to use a managed identity.")]
    [InlineData("not a connection string", null, null, null, "AzureWebJobsStorage is not a valid storage connection string.")]
    [InlineData(null, "Relay_Store", null, null, "AzureWebJobsStorage__accountName must be a storage account name: 3 to 24 lowercase letters and digits.")]
    [InlineData(null, null, "http://127.0.0.1:10002/devstoreaccount1", null, "AzureWebJobsStorage__tableServiceUri must be an absolute https URI.")]
    [InlineData(null, null, "relaystore.table.core.windows.net", null, "AzureWebJobsStorage__tableServiceUri must be an absolute https URI.")]
    [InlineData(null, "relaystore", null, "secret", "AzureWebJobsStorage__credential is 'secret': set it to managedidentity, or leave it unset for DefaultAzureCredential.")]
    public void Resolve_WrongOrMissingSetting_ErrorNamesTheSetting(string? connectionString, string? account, string? tableUri, string? credential, string expected)
    {
        var errors = new List<string>();

        var connection = StorageConnection.Resolve(new RelayStorageOptions { ConnectionString = connectionString, AccountName = account, TableServiceUri = tableUri, Credential = credential }, errors);

        Assert.Null(connection);
        Assert.Equal([expected], errors);
    }

    [Fact]
    public void AddRelayStorage_IdentitySettingsOnly_PassesStartupValidation()
    {
        // What Flex Consumption sets: AzureWebJobsStorage__accountName etc., which configuration reads as AzureWebJobsStorage:accountName.
        using var services = StorageTestKit.Services(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage:accountName"] = "relaystore",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "11111111-2222-3333-4444-555555555555",
            ["RELAY_ENCRYPTION_KEYS"] = "k1=" + StorageTestKit.Key1,
        });

        services.GetRequiredService<IStartupValidator>().Validate();

        var options = services.GetRequiredService<IOptions<RelayStorageOptions>>().Value;
        Assert.Null(options.ConnectionString);
        Assert.Equal("relaystore", options.AccountName);
        Assert.Equal("managedidentity", options.Credential);
        Assert.Equal("11111111-2222-3333-4444-555555555555", options.ClientId);
    }

    [Fact]
    public void ServiceBus_NamespaceWithManagedIdentity_ResolvesNamespaceAndCredential()
    {
        var errors = new List<string>();
        var options = new ServiceBusConnectionOptions { FullyQualifiedNamespace = "sb-relay.servicebus.windows.net", Credential = "ManagedIdentity", ClientId = "abc" };

        var connection = options.Resolve(errors);

        Assert.Empty(errors);
        Assert.Equal(new ServiceBusConnection("sb-relay.servicebus.windows.net", new ConnectionCredential(CredentialKind.ManagedIdentity, "abc")), connection);
    }

    [Theory]
    [InlineData(null, null, "ServiceBusConnection__fullyQualifiedNamespace is not set: set it to the namespace host name, e.g. NAME.servicebus.windows.net.")]
    [InlineData("sb://sb-relay.servicebus.windows.net/", null, "ServiceBusConnection__fullyQualifiedNamespace must be a host name, e.g. NAME.servicebus.windows.net, not a URI or connection string.")]
    [InlineData("Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=b", null, "ServiceBusConnection__fullyQualifiedNamespace must be a host name, e.g. NAME.servicebus.windows.net, not a URI or connection string.")]
    [InlineData("sb-relay.servicebus.windows.net", "connectionstring", "ServiceBusConnection__credential is 'connectionstring': set it to managedidentity, or leave it unset for DefaultAzureCredential.")]
    public void ServiceBus_WrongOrMissingSetting_FailsStartupNamingTheSetting(string? ns, string? credential, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ServiceBusConnection:fullyQualifiedNamespace"] = ns,
            ["ServiceBusConnection:credential"] = credential,
        }).Build();
        using var services = new ServiceCollection().AddServiceBusConnection(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(expected, error.Message);
    }
}
