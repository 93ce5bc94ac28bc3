using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Validation;
using Serverless.Relay.Validation;

namespace Serverless.Handler.Hosting;

/// <summary>
/// Registers closed the generic services the container would otherwise make at start-up from open generic
/// registrations: the framework's options it reads while it starts, and the logger of every class of the app that
/// takes one (the app's own options are closed where they are registered, <see cref="ValidatedOptions"/>).
/// </summary>
/// <remarks>
/// NOTE: why. Given only <c>IOptions&lt;&gt;</c> or <c>ILogger&lt;&gt;</c>, the container makes each closed type with
/// <c>MakeGenericType</c>, and in the native build the runtime's type loader then builds it from metadata, with its
/// options factory, monitor, cache and the arrays of their setups: most of what the start spent on top of an empty
/// app. Closed here, the compiler sees each instantiation and builds it ahead of time. Readiness 140–145 → 112–117 ms
/// (bench/ANALYSIS.md, "Readiness: generic services closed"). A type missing here still works, only built at start-up;
/// <c>ClosedGenericsTests</c> checks that every logger a class of the app takes is here. The one difference from the
/// open registrations (a framework <see cref="IOptions{TOptions}"/> makes its value when resolved, not on first read)
/// changes nothing here: the framework resolves these options in the constructors that read them.
/// </remarks>
internal static class ClosedGenerics
{
    public static void Add(IServiceCollection services)
    {
        AddFrameworkOptions(services);
        AddLoggers(services);
    }

    /// <summary>The framework's options read before the handler listens (web host, Kestrel, routing, console logging).</summary>
    private static void AddFrameworkOptions(IServiceCollection services)
    {
        ValidatedOptions.AddClosedOptionsServices<HostOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<ConsoleLifetimeOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<HostFilteringOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<KestrelServerOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<SocketTransportOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<RouteOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<RouteHandlerOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<FormOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<Microsoft.AspNetCore.Http.Json.JsonOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<ValidationOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<MetricsOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<LoggerFactoryOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<LoggerFilterOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<ConsoleLoggerOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<ConsoleFormatterOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<SimpleConsoleFormatterOptions>(services);
        ValidatedOptions.AddClosedOptionsServices<JsonConsoleFormatterOptions>(services);
    }

    /// <summary>Every logger the app's classes take, and the framework's public ones made before the handler listens.</summary>
    private static void AddLoggers(IServiceCollection services)
    {
        AddLogger<ApplicationLifetime>(services);
        AddLogger<HostFilteringMiddleware>(services);
        AddLogger<FunctionsHost.LocalServiceBusQueues>(services);
        AddLogger<FunctionsHost.LocalTimerScheduler>(services);
        AddLogger<Jobs.PurgePending.PurgePendingFunction>(services);
        AddLogger<Jobs.RefreshTokens.RefreshTokensFunction>(services);
        AddLogger<Jobs.Retention.RetentionFunction>(services);
        AddLogger<Relay.Accounts.AccountDirectory>(services);
        AddLogger<Relay.Accounts.AccountEventLog>(services);
        AddLogger<Relay.Accounts.AccountEventSinks>(services);
        AddLogger<Relay.Accounts.ModelGroupDirectory>(services);
        AddLogger<Relay.Admin.AccountEndpoints>(services);
        AddLogger<Relay.Admin.AdminFunction>(services);
        AddLogger<Relay.Admin.AdminKeyFilter>(services);
        AddLogger<Relay.Admin.KeyEndpoints>(services);
        AddLogger<Relay.Admin.PricingEndpoints>(services);
        AddLogger<Relay.Failover.FailoverExecutor>(services);
        AddLogger<Relay.Keys.ClientKeyAuthenticator>(services);
        AddLogger<Relay.Keys.FailedAuthThrottle>(services);
        AddLogger<Relay.Limits.KeyLimiter>(services);
        AddLogger<Relay.Limits.KeyLimitEventSinks>(services);
        AddLogger<Relay.Limits.TableCounterStore>(services);
        AddLogger<Relay.Metering.UsageWriter>(services);
        AddLogger<Relay.OAuth.OAuthTokens>(services);
        AddLogger<Relay.OAuth.PkceAuthorizations>(services);
        AddLogger<Relay.Pricing.PriceBook>(services);
        AddLogger<Relay.Relaying.RelayForwarder>(services);
        AddLogger<Relay.Relaying.TokenCounter>(services);
        AddLogger<Relay.Relaying.UpstreamSender>(services);
        AddLogger<Relay.Secrets.SecretRotation>(services);
        AddLogger<Relay.Sessions.SessionBindings>(services);
        AddLogger<Relay.Storage.HotPathStorage>(services);
        AddLogger<Relay.Storage.RelayTableInitializer>(services);
        AddLogger<Relay.Storage.RelayTables>(services);
        AddLogger<Webhooks.ChannelAdmin.ChannelEndpoints>(services);
        AddLogger<Webhooks.Channels.ChannelStore>(services);
        AddLogger<Webhooks.Delivery.ImDeliverFunction>(services);
        AddLogger<Webhooks.Inbound.ImWebhookFunction>(services);
        AddLogger<Webhooks.Messaging.StorageQueueMessageSender>(services);
        AddLogger<Webhooks.Notifications.NotificationBacklog>(services);
        AddLogger<Webhooks.Notifications.NotificationDelivery>(services);
        AddLogger<Webhooks.Notifications.NotificationDispatcher>(services);
        AddLogger<Webhooks.Notifications.NotificationEndpoints>(services);
        AddLogger<Webhooks.Notifications.NotificationStore>(services);
        AddLogger<Webhooks.Platforms.PlatformTokenCache>(services);
        AddLogger<Webhooks.Processing.ImProcessFunction>(services);
    }

    private static void AddLogger<T>(IServiceCollection services) =>
        services.TryAddSingleton<ILogger<T>>(static sp => new Logger<T>(sp.GetRequiredService<ILoggerFactory>()));
}
