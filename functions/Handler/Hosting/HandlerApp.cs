using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration.Memory;
using Serverless.Handler.AdminUi;
using Serverless.Handler.FunctionsHost;
using Serverless.Handler.Telemetry;
using Serverless.Jobs;
using Serverless.Webhooks;
using Serverless.Relay.Functions;
using Serverless.Relay.Relaying;
using Serverless.Relay.Storage;
using Serverless.Relay.Limits;
using Serverless.Relay;
using Serverless.Webhooks.Messaging;
using Serverless.Relay.Validation;

namespace Serverless.Handler.Hosting;

/// <summary>Composes the handler: one ASP.NET Core app serving every function, in either <see cref="HostingMode"/>.</summary>
public static partial class HandlerApp
{
    internal const string PortSetting = "FUNCTIONS_CUSTOMHANDLER_PORT";
    internal const string LocalUrl = "http://localhost:7071";
    internal const string EncryptionKeysSetting = "RELAY_ENCRYPTION_KEYS";
    internal const string EphemeralStorageSetting = "RELAY_EPHEMERAL_STORAGE";

    /// <summary>How long after start the tokenizer loads in the background: past a cold start's first requests.</summary>
    internal static readonly TimeSpan TokenizerWarmUpDelay = TimeSpan.FromSeconds(3);

    /// <summary>The host's own setting, read before anything else configures the app: no reload of configuration files.</summary>
    internal const string NoConfigReload = "--hostBuilder:reloadConfigOnChange=false";

    /// <summary>The framework categories that log once or more per request.</summary>
    internal static readonly string[] QuietCategoriesWhenHosted = ["Microsoft.AspNetCore", "System.Net.Http"];

    /// <summary>Builds the app. <paramref name="configure"/> lets tests add configuration before services are built.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // NOTE: the package is read-only and the settings come from the environment, so the appsettings files (which it
        // does not ship) are not watched: a watcher is a thread and a watch on every folder of the app, set up at start.
        var builder = WebApplication.CreateSlimBuilder([NoConfigReload, .. args]);
        configure?.Invoke(builder);

        var mode = ConfigureListening(builder);
        if (mode == HostingMode.Local)
        {
            AddLocalDefaults(builder.Configuration);
        }
        else
        {
            AddHostedLogDefaults(builder.Configuration);
        }

        builder.Logging.SilenceFrameworkRequestLog();
        builder.Services.AddRelayStorage(builder.Configuration);
        builder.Services.AddRelay(builder.Configuration);
        builder.Services.AddWebhooks(builder.Configuration);
        builder.Services.AddJobs();
        builder.Services.AddMessaging(builder.Configuration, isLocal: mode == HostingMode.Local);
        builder.AddTelemetryPipeline();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = RelayLimits.MaxRequestBodyBytes;
        });

        var appRoot = builder.Configuration["RELAY_APP_ROOT"] ?? AppContext.BaseDirectory;
        builder.Services.AddSingleton<IHttpFunction>(new AdminUiFunction(appRoot));
        var catalog = FunctionCatalog.Load(appRoot);
        var timers = FunctionRouteMapper.TimerRegistrations(catalog, builder.Configuration);
        var queues = FunctionRouteMapper.QueueRegistrations(catalog, builder.Configuration);
        if (mode == HostingMode.Local)
        {
            // Behind the Functions host the host fires timers and triggers on Service Bus; locally the handler plays its part.
            builder.Services.AddSingleton(timers);
            builder.Services.AddHostedService<LocalTimerScheduler>();
            builder.Services.AddSingleton(queues);
            builder.Services.AddOptions<LocalQueueOptions>().Bind(builder.Configuration.GetSection(LocalQueueOptions.Section)).ValidateWith<LocalQueueOptions, LocalQueueOptionsValidator>().ValidateOnStart();
            builder.Services.AddHostedService<LocalServiceBusQueues>();
        }

        ClosedGenerics.Add(builder.Services);
        var app = builder.Build();
        Log.Starting(app.Logger, mode, catalog.Functions.Count);

        // The Functions host polls GET / until the handler answers; it must not wait for storage.
        app.UseRequestLog();
        app.UseTelemetryPipeline();
        app.MapGet("/", static () => Results.Text("ok"));
        app.MapFunctions(catalog, mode);

        var estimator = app.Services.GetRequiredService<TokenEstimator>();
        app.Lifetime.ApplicationStarted.Register(() => _ = WarmUpTokenizerLaterAsync(estimator, app.Lifetime.ApplicationStopping));
        return app;
    }

    /// <summary>
    /// Loads the tokenizer's vocabulary (tens of milliseconds of CPU: bench/ANALYSIS.md, "The tokenizer's memory") once
    /// the start is over, on a thread of its own.
    /// A request that needs it sooner (a key with a token limit, token counting) loads it itself.
    /// </summary>
    /// <remarks>
    /// NOTE: why later and not on the thread pool. Queued to the pool at start, it held the pool's only thread on a
    /// one-vCPU instance (the pool starts with one per CPU) and shared that CPU with the first relayed request, which
    /// waited for both (bench/ANALYSIS.md, cold start).
    /// </remarks>
    private static async Task WarmUpTokenizerLaterAsync(TokenEstimator estimator, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(TokenizerWarmUpDelay, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        new Thread(estimator.WarmUp) { IsBackground = true, Name = "tokenizer warm-up" }.Start();
    }

    private static HostingMode ConfigureListening(WebApplicationBuilder builder)
    {
        var port = builder.Configuration[PortSetting];
        if (!string.IsNullOrEmpty(port))
        {
            // NOTE: the host talks to the handler on loopback only; --urls is ignored so nothing else is exposed.
            var number = int.Parse(port, CultureInfo.InvariantCulture);
            builder.WebHost.UseKestrel(k => k.ListenLocalhost(number));
            return HostingMode.CustomHandler;
        }

        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(LocalUrl);
        }

        return HostingMode.Local;
    }

    /// <summary>
    /// Local mode runs with nothing configured: an ephemeral encryption key, but only when the storage is ephemeral too
    /// (<c>RELAY_EPHEMERAL_STORAGE=true</c>, set by scripts/run-local.sh for its in-memory Azurite). With storage that
    /// outlives the process, a generated key would leave every stored secret unreadable after a restart: refuse.
    /// </summary>
    private static void AddLocalDefaults(ConfigurationManager configuration)
    {
        if (!string.IsNullOrWhiteSpace(configuration[EncryptionKeysSetting]))
        {
            return;
        }

        if (!string.Equals(configuration[EphemeralStorageSetting], "true", StringComparison.OrdinalIgnoreCase))
        {
            throw new HandlerSettingsException(
                $"{EncryptionKeysSetting} is not set and the storage is persistent ({EphemeralStorageSetting} is not true): " +
                $"a generated key would make every stored secret unreadable after a restart. Set {EncryptionKeysSetting}=k1=<output of " +
                $"`openssl rand -base64 32`> and keep it; or, for throwaway storage such as the in-memory Azurite of " +
                $"scripts/run-local.sh, set {EphemeralStorageSetting}=true.");
        }

        configuration[EncryptionKeysSetting] = "local=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    }

    /// <summary>
    /// Behind the Functions host every stdout line becomes a host log (and an Application Insights trace), so the
    /// per-request framework logs start at Warning. These are defaults: any configuration source (an app setting such as
    /// <c>Logging__LogLevel__Microsoft.AspNetCore=Information</c>) overrides them.
    /// </summary>
    private static void AddHostedLogDefaults(ConfigurationManager configuration)
    {
        var defaults = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var category in QuietCategoriesWhenHosted)
        {
            defaults["Logging:LogLevel:" + category] = nameof(LogLevel.Warning);
        }

        // NOTE: first in the list, so every other source wins.
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = defaults });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Handler starting in {Mode} mode with {Count} functions")]
        public static partial void Starting(ILogger logger, HostingMode mode, int count);
    }
}
