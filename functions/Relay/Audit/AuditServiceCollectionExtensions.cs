using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Audit;

internal static class AuditServiceCollectionExtensions
{
    /// <summary>The audit trail's store and its <c>Audit</c> settings (how much of each body a full audit keeps).</summary>
    public static IServiceCollection AddAudit(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuditOptions>().Bind(configuration.GetSection(AuditOptions.Section)).ValidateWith<AuditOptions, AuditOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton<AuditTrail>();
        return services;
    }
}
