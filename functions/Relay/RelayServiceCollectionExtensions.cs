using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Accounts;
using Serverless.Relay.Admin;
using Serverless.Relay.Audit;
using Serverless.Relay.Failover;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.OAuth;
using Serverless.Relay.Pricing;
using Serverless.Relay.Providers;
using Serverless.Relay.Relaying;
using Serverless.Relay.Secrets;
using Serverless.Relay.Sessions;
using Serverless.Relay.Storage;
using Serverless.Relay.Telemetry;

namespace Serverless.Relay;

/// <summary>
/// The composition root of the relay: each folder registers its own types; only this class knows them all, so no folder
/// depends on another just to register it.
/// </summary>
public static class RelayServiceCollectionExtensions
{
    /// <summary>
    /// Everything that lives on storage, with the admin API: the telemetry instruments, storage, secrets, keys, the account pool, OAuth, sessions,
    /// failover, the audit trail, metering, pricing and limits. Enough for the admin API and the <c>rotate-keys</c> command.
    /// </summary>
    public static IServiceCollection AddRelayStorage(this IServiceCollection services, IConfiguration configuration) =>
        services
            .AddTelemetry()
            .AddStorage(configuration)
            .AddSecrets(configuration)
            .AddKeys(configuration)
            .AddUpstreamHttp()
            .AddAccountPool(configuration)
            .AddOAuth(configuration)
            .AddSessions(configuration)
            .AddFailover(configuration)
            .AddAudit(configuration)
            .AddMetering(configuration)
            .AddPricing()
            .AddLimits(configuration)
            .AddAdminApi(configuration);

    /// <summary>The request path, the in-process <see cref="IRelay"/> and one function per client API, with the quota functions.</summary>
    public static IServiceCollection AddRelay(this IServiceCollection services, IConfiguration configuration) =>
        services
            .AddRelaying(configuration)
            .AddQuotaFunctions();
}
