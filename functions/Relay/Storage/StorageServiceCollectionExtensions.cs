using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Storage;

internal static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Table storage: settings read from flat keys (<c>AzureWebJobsStorage</c> or its identity-based form,
    /// <c>RELAY_TABLE_PREFIX</c>) and validated at start-up, the hot-path deadline, and the tables created in the
    /// background at start-up (<see cref="RelayTableInitializer"/>), the cap on connections to it.
    /// </summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration configuration)
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
            .ValidateWith<RelayStorageOptions, RelayStorageOptionsValidator>()
            .ValidateOnStart();
        services.AddOptions<StorageTransportOptions>().Bind(configuration.GetSection(StorageTransportOptions.Section)).ValidateWith<StorageTransportOptions, StorageTransportOptionsValidator>().ValidateOnStart();
        services.AddOptions<HotPathStorageOptions>().Bind(configuration.GetSection(HotPathStorageOptions.Section)).ValidateWith<HotPathStorageOptions, HotPathStorageOptionsValidator>().ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RelayTables>();
        services.TryAddSingleton<RelayBlobs>();
        services.TryAddSingleton<HotPathStorage>();
        services.TryAddSingleton<RelayTableInitializer>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RelayTableInitializer>());
        return services;
    }
}
