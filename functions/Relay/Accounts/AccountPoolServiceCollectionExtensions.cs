using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Accounts;

internal static class AccountPoolServiceCollectionExtensions
{
    /// <summary>
    /// Upstream accounts and their pool: the store and cached directory, health marks and their events, model groups
    /// and the scheduler. Options from the <c>Accounts</c> section, validated at start-up.
    /// </summary>
    public static IServiceCollection AddAccountPool(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AccountHealthOptions>().Bind(configuration.GetSection(AccountHealthOptions.Section)).ValidateWith<AccountHealthOptions, AccountHealthOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AccountStore>();
        services.AddEncryptedColumns(AccountStore.EncryptedColumns);
        services.TryAddSingleton(sp => new AccountDirectory(
            sp.GetRequiredService<AccountStore>(),
            sp.GetRequiredService<HotPathStorage>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AccountDirectory>>(),
            [.. sp.GetServices<IAccountMemory>()]));
        services.TryAddSingleton<IAccountDirectory>(sp => sp.GetRequiredService<AccountDirectory>());
        services.TryAddSingleton<AccountEventLog>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAccountEventSink, AccountEventLog>(sp => sp.GetRequiredService<AccountEventLog>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAccountEventSink, AccountHealthMetrics>());

        // Health raises to every registered sink (the event log, notifications), resolved when health is first used.
        services.TryAddSingleton(sp => new AccountHealth(
            sp.GetRequiredService<IOptions<AccountHealthOptions>>(),
            new AccountEventSinks([.. sp.GetServices<IAccountEventSink>()], sp.GetRequiredService<ILogger<AccountEventSinks>>()),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAccountMemory, AccountHealth>(sp => sp.GetRequiredService<AccountHealth>()));
        services.TryAddSingleton<ModelGroupStore>();
        services.TryAddSingleton<ModelGroupDirectory>();
        services.TryAddSingleton<IModelGroupDirectory>(sp => sp.GetRequiredService<ModelGroupDirectory>());
        services.TryAddSingleton<AccountScheduler>();
        return services;
    }
}
