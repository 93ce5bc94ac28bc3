using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Secrets;

internal static class SecretsServiceCollectionExtensions
{
    /// <summary>The key ring (<c>RELAY_ENCRYPTION_KEYS</c>, <c>RELAY_ENCRYPTION_KEY_ID</c>, validated at start-up) and the protector that uses it.</summary>
    public static IServiceCollection AddSecrets(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SecretOptions>()
            .Configure(o =>
            {
                o.EncryptionKeys = configuration[SecretOptions.KeysSetting];
                o.EncryptionKeyId = configuration[SecretOptions.KeyIdSetting];
            })
            .ValidateWith<SecretOptions, SecretOptionsValidator>()
            .ValidateOnStart();
        services.TryAddSingleton<EncryptionKeyRing>();
        services.TryAddSingleton<SecretProtector>();
        return services;
    }

    /// <summary>Registers a table's encrypted columns for key rotation; once per table, however often its owner is added.</summary>
    public static IServiceCollection AddEncryptedColumns(this IServiceCollection services, EncryptedColumns columns)
    {
        if (!services.Any(d => d.ServiceType == typeof(EncryptedColumns) && d.ImplementationInstance is EncryptedColumns known && known.Table == columns.Table))
        {
            services.AddSingleton(columns);
        }

        return services;
    }
}
