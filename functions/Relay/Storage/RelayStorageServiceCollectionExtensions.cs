using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Admin;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.Secrets;

namespace Serverless.Relay.Storage;

public static class RelayStorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers table storage, secret encryption, relay keys, upstream accounts, the usage writer (a hosted service)
    /// and the admin function. Settings are read from flat keys (<c>AzureWebJobsStorage</c>, <c>RELAY_TABLE_PREFIX</c>,
    /// <c>RELAY_ENCRYPTION_KEYS</c>, <c>RELAY_ENCRYPTION_KEY_ID</c>, <c>RELAY_ADMIN_KEY</c>) and validated at start-up;
    /// tables are created in the background at start-up (<see cref="RelayTableInitializer"/>).
    /// </summary>
    public static IServiceCollection AddRelayStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RelayStorageOptions>()
            .Configure(o =>
            {
                o.ConnectionString = configuration[RelayStorageOptions.ConnectionStringSetting];
                var identity = configuration.GetSection(RelayStorageOptions.ConnectionStringSetting);
                o.AccountName = identity["accountName"];
                o.TableServiceUri = identity["tableServiceUri"];
                o.QueueServiceUri = identity["queueServiceUri"];
                o.BlobServiceUri = identity["blobServiceUri"];
                o.Credential = identity["credential"];
                o.ClientId = identity["clientId"];
                o.TablePrefix = configuration[RelayStorageOptions.TablePrefixSetting]?.Trim() ?? "";
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RelayStorageOptions>, RelayStorageOptionsValidator>());

        services.AddOptions<SecretOptions>()
            .Configure(o =>
            {
                o.EncryptionKeys = configuration[SecretOptions.KeysSetting];
                o.EncryptionKeyId = configuration[SecretOptions.KeyIdSetting];
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecretOptions>, SecretOptionsValidator>());

        services.AddOptions<UsageWriterOptions>().ValidateDataAnnotations().ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RelayTables>();
        services.AddOptions<HotPathStorageOptions>().Bind(configuration.GetSection(HotPathStorageOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<HotPathStorage>();
        services.TryAddSingleton<RelayTableInitializer>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RelayTableInitializer>());
        services.TryAddSingleton<EncryptionKeyRing>();
        services.TryAddSingleton<SecretProtector>();

        services.TryAddSingleton<ClientKeyStore>();
        services.TryAddSingleton<ClientKeyAuthenticator>();
        services.TryAddSingleton<IClientKeyAuthenticator>(sp => sp.GetRequiredService<ClientKeyAuthenticator>());
        services.AddOptions<FailedAuthThrottleOptions>().Bind(configuration.GetSection(FailedAuthThrottleOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<FailedAuthThrottle>();

        services.TryAddSingleton<AccountStore>();
        services.TryAddSingleton<AccountDirectory>();
        services.TryAddSingleton<IAccountDirectory>(sp => sp.GetRequiredService<AccountDirectory>());

        services.TryAddSingleton<UsageWriter>();
        services.TryAddSingleton<IUsageSink>(sp => sp.GetRequiredService<UsageWriter>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<UsageWriter>());

        services.AddAccountPool(configuration);
        services.AddRelayLimits(configuration);
        services.AddAdminApi(configuration);
        return services;
    }
}
