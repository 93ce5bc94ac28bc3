using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Handler.Hosting;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Infra;

/// <summary>What the handler does with its settings before it serves anything: log levels, and the refusals.</summary>
public sealed class HandlerSettingsTests
{
    private const string RefusalMessage =
        "The handler cannot start: RELAY_ENCRYPTION_KEYS is not set and the storage is persistent (RELAY_EPHEMERAL_STORAGE is not true): " +
        "a generated key would make every stored secret unreadable after a restart. Set RELAY_ENCRYPTION_KEYS=k1=<output of " +
        "`openssl rand -base64 32`> and keep it; or, for throwaway storage such as the in-memory Azurite of scripts/run-local.sh, " +
        "set RELAY_EPHEMERAL_STORAGE=true.";

    [Theory]
    [InlineData("Microsoft.AspNetCore.Routing.EndpointMiddleware")]
    [InlineData("System.Net.Http.HttpClient.Default.LogicalHandler")]
    public async Task Build_HostedMode_PerRequestFrameworkLogsStartAtWarning(string category)
    {
        await using var app = HandlerApp.Build([], builder => builder.Configuration.AddInMemoryCollection(Settings(hosted: true)));
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(category);

        Assert.False(logger.IsEnabled(LogLevel.Information));
        Assert.True(logger.IsEnabled(LogLevel.Warning));
        Assert.True(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Serverless.Relay.Relaying").IsEnabled(LogLevel.Information));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Build_FrameworkRequestLogAskedFor_StaysOff_SoNoActivityPerRequest(bool hosted)
    {
        // Enabled at any level, even Critical, this category makes ASP.NET Core start an activity for every request
        // (and HttpClient one for every upstream call) when no tracer listens.
        var settings = Settings(hosted);
        settings["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information";
        string[] args = hosted ? [] : ["--urls", "http://127.0.0.1:0"];

        await using var app = HandlerApp.Build(args, builder => builder.Configuration.AddInMemoryCollection(settings));

        Assert.False(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(RequestLog.FrameworkCategory).IsEnabled(LogLevel.Critical));
        Assert.True(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Microsoft.AspNetCore.Hosting.Lifetime").IsEnabled(LogLevel.Warning));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Build_ConfigurationFiles_NotWatchedForChanges(bool hosted)
    {
        string[] args = hosted ? [] : ["--urls", "http://127.0.0.1:0"];

        await using var app = HandlerApp.Build(args, builder => builder.Configuration.AddInMemoryCollection(Settings(hosted)));

        var files = ((IConfigurationRoot)app.Configuration).Providers.OfType<FileConfigurationProvider>().Select(p => p.Source).ToList();
        Assert.Contains(files, source => source.Path == "appsettings.json");
        Assert.All(files, source => Assert.False(source.ReloadOnChange, source.Path));
    }

    [Fact]
    public async Task Build_HostedModeWithLogLevelSetting_SettingWins()
    {
        var settings = Settings(hosted: true);
        settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Information";

        await using var app = HandlerApp.Build([], builder => builder.Configuration.AddInMemoryCollection(settings));

        Assert.True(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Microsoft.AspNetCore.Routing.EndpointMiddleware").IsEnabled(LogLevel.Information));
        Assert.False(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("System.Net.Http.HttpClient").IsEnabled(LogLevel.Information));
    }

    [Fact]
    public async Task Build_LocalMode_FrameworkLogsKeepTheirDefault()
    {
        await using var app = HandlerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(Settings(hosted: false)));

        Assert.True(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Microsoft.AspNetCore.Routing.EndpointMiddleware").IsEnabled(LogLevel.Information));
    }

    [Fact]
    public async Task Start_LocalModePersistentStorageWithoutEncryptionKeys_ExitsOneSayingWhatToSet()
    {
        var ct = TestContext.Current.CancellationToken;
        var start = HandlerStart(new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        });

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.Equal(1, process.ExitCode);
        Assert.Equal(RefusalMessage, (await errors).Trim());
        Assert.DoesNotContain("Now listening", await output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_LocalModeEphemeralStorageWithoutEncryptionKeys_StartsWithThrowawayKey()
    {
        var ct = TestContext.Current.CancellationToken;
        var start = HandlerStart(new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["RELAY_EPHEMERAL_STORAGE"] = "true",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Application started", StringComparison.Ordinal) == true)
            {
                started.TrySetResult();
            }
        };
        process.BeginOutputReadLine();
        var errors = process.StandardError.ReadToEndAsync(ct);
        try
        {
            // Started (the host logs it once every hosted service has started), or exited: whichever comes first.
            await Task.WhenAny(started.Task, process.WaitForExitAsync(ct)).WaitAsync(TimeSpan.FromSeconds(60), ct);

            Assert.True(started.Task.IsCompleted, "the handler did not start: " + (process.HasExited ? await errors : "still starting after 60 s"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
            }
        }
    }

    /// <summary>The least a handler needs to be built (not started): storage, an encryption key, its own folder; a port when hosted.</summary>
    internal static Dictionary<string, string?> Settings(bool hosted)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["RELAY_ENCRYPTION_KEYS"] = "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["RELAY_APP_ROOT"] = AppContext.BaseDirectory,
        };
        if (hosted)
        {
            settings["FUNCTIONS_CUSTOMHANDLER_PORT"] = HandlerProcess.FreePort().ToString(CultureInfo.InvariantCulture);
        }

        return settings;
    }

    private static ProcessStartInfo HandlerStart(Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Serverless.Handler.dll") },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var inherited in new[] { "FUNCTIONS_CUSTOMHANDLER_PORT", "RELAY_ENCRYPTION_KEYS", "RELAY_EPHEMERAL_STORAGE", "ASPNETCORE_URLS" })
        {
            start.Environment.Remove(inherited);
        }

        start.Environment["RELAY_APP_ROOT"] = AppContext.BaseDirectory;
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return start;
    }
}
