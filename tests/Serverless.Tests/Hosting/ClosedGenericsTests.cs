using System.Reflection;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Handler.Hosting;
using Serverless.Relay.Relaying;
using Serverless.Tests.Infra;
using Xunit;

namespace Serverless.Tests.Hosting;

/// <summary>
/// <see cref="ClosedGenerics"/> registers closed what the container would otherwise make from open generics at start-up
/// (a native start builds each such type from metadata): every logger the app's classes take, and the framework's
/// options, which must still carry every setup the app and the framework give them.
/// </summary>
public sealed class ClosedGenericsTests
{
    private static readonly Assembly[] AppAssemblies =
    [
        typeof(HandlerApp).Assembly, typeof(RelayOptions).Assembly, typeof(Serverless.Webhooks.Inbound.ImWebhookFunction).Assembly,
        typeof(Serverless.Jobs.Retention.RetentionFunction).Assembly,
    ];

    [Fact]
    public void EveryLoggerAClassOfTheAppTakes_IsRegisteredClosed()
    {
        var taken = AppAssemblies
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance))
            .SelectMany(constructor => constructor.GetParameters())
            .Select(parameter => parameter.ParameterType)
            .Where(type => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ILogger<>))
            .ToHashSet();
        var services = new ServiceCollection();

        ClosedGenerics.Add(services);

        Assert.True(taken.Count >= 40, $"found only {taken.Count} loggers: the scan missed the app's classes");
        var closed = services.Select(descriptor => descriptor.ServiceType).ToHashSet();
        Assert.Empty(taken.Where(logger => !closed.Contains(logger)).Select(logger => logger.GenericTypeArguments[0].FullName).Order());
    }

    [Fact]
    public async Task Build_FrameworkOptionsClosed_KeepTheAppsAndTheFrameworksSetups()
    {
        await using var app = HandlerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(HandlerSettingsTests.Settings(hosted: false)));

        // HandlerApp's own Kestrel settings, through the closed registration (an OptionsWrapper, not the open generic's manager).
        var kestrel = app.Services.GetRequiredService<IOptions<KestrelServerOptions>>();
        Assert.IsType<OptionsWrapper<KestrelServerOptions>>(kestrel);
        Assert.False(kestrel.Value.AddServerHeader);
        Assert.Equal(RelayLimits.MaxRequestBodyBytes, kestrel.Value.Limits.MaxRequestBodySize);
        Assert.NotNull(kestrel.Value.ApplicationServices); // the framework's own setup ran too

        // The logger filters: the app's rule added in code, and the configuration's defaults.
        var filters = app.Services.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>().CurrentValue;
        Assert.Contains(filters.Rules, rule => rule.CategoryName == RequestLog.FrameworkCategory && rule.LogLevel == LogLevel.None);
    }

    [Fact]
    public async Task Build_ApplicationInsightsConfigured_ExporterOptionsClosed_CarryTheConnectionString()
    {
        const string connectionString = "InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=http://127.0.0.1:9/";
        var settings = HandlerSettingsTests.Settings(hosted: false);
        settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] = connectionString;
        await using var app = HandlerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));

        // Closed (an OptionsWrapper, not the open generic's manager), and still set up by the exporter's own configuration reader.
        Assert.IsType<OptionsWrapper<AzureMonitorExporterOptions>>(app.Services.GetRequiredService<IOptions<AzureMonitorExporterOptions>>());
        Assert.Equal(connectionString, app.Services.GetRequiredService<IOptionsMonitor<AzureMonitorExporterOptions>>().Get(Options.DefaultName).ConnectionString);
    }
}
