using System.Globalization;
using System.Security.Cryptography;
using Serverless.Handler.FunctionsHost;
using Serverless.Jobs;
using Serverless.Relay.Relaying;
using Serverless.Relay.Storage;

namespace Serverless.Handler.Hosting;

/// <summary>Composes the handler: one ASP.NET Core app serving every function, in either <see cref="HostingMode"/>.</summary>
public static partial class HandlerApp
{
    internal const string PortSetting = "FUNCTIONS_CUSTOMHANDLER_PORT";
    internal const string LocalUrl = "http://localhost:7071";

    /// <summary>Builds the app. <paramref name="configure"/> lets tests add configuration before services are built.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);

        var mode = ConfigureListening(builder);
        if (mode == HostingMode.Local)
        {
            AddLocalDefaults(builder.Configuration);
        }

        builder.Logging.SilenceFrameworkRequestLog();
        builder.Services.AddRelayStorage(builder.Configuration);
        builder.Services.AddRelay(builder.Configuration);
        builder.Services.AddJobs();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = RelayLimits.MaxRequestBodyBytes;
        });

        var appRoot = builder.Configuration["RELAY_APP_ROOT"] ?? AppContext.BaseDirectory;
        var catalog = FunctionCatalog.Load(appRoot);
        var timers = FunctionRouteMapper.TimerRegistrations(catalog, builder.Configuration);
        if (mode == HostingMode.Local)
        {
            // Behind the Functions host the host fires timers; locally the handler plays its part.
            builder.Services.AddSingleton(timers);
            builder.Services.AddHostedService<LocalTimerScheduler>();
        }

        var app = builder.Build();
        Log.Starting(app.Logger, mode, catalog.Functions.Count);

        // The Functions host polls GET / until the handler answers; it must not wait for storage.
        app.UseRequestLog();
        app.MapGet("/", static () => Results.Text("ok"));
        app.MapFunctions(catalog, mode);

        // The tokenizer's vocabulary is warmed after the readiness probe can answer, not before.
        var estimator = app.Services.GetRequiredService<TokenEstimator>();
        app.Lifetime.ApplicationStarted.Register(() => ThreadPool.UnsafeQueueUserWorkItem(static e => e.WarmUp(), estimator, preferLocal: false));
        return app;
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
    /// Local mode runs with nothing configured: an ephemeral encryption key (local storage is in-memory Azurite, so
    /// nothing outlives the process that could need it).
    /// </summary>
    private static void AddLocalDefaults(ConfigurationManager configuration)
    {
        if (string.IsNullOrEmpty(configuration["RELAY_ENCRYPTION_KEYS"]))
        {
            configuration["RELAY_ENCRYPTION_KEYS"] = "local=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Handler starting in {Mode} mode with {Count} functions")]
        public static partial void Starting(ILogger logger, HostingMode mode, int count);
    }
}
