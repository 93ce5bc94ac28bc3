using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Handler.Hosting;
using Xunit;

namespace Serverless.Tests.Hosting;

/// <summary>
/// Settings out of their bounds stop the app at start with a message naming the setting, in every project's options:
/// the validators are generated at build time (the native build has no reflection to find the attributes with).
/// </summary>
public sealed class SettingsValidationTests
{
    [Theory]
    [InlineData("Limits:FlushInterval", "00:00:00.010", "FlushInterval: The field LimitOptions.FlushInterval must be between 00:00:00.050 and 00:01:00.")]
    [InlineData("Limits:FlushInterval", "00:00:20", "FlushInterval: Limits:FlushInterval must be at most half of Limits:LeaseDuration, so leases are renewed before they lapse.")]
    [InlineData("Relay:StreamIdleTimeout", "01:00:00", "StreamIdleTimeout: The field RelayOptions.StreamIdleTimeout must be between 00:00:01 and 00:30:00.")]
    [InlineData("Relay:MaxInFlightBodyBytes", "1024", "MaxInFlightBodyBytes: The field RelayOptions.MaxInFlightBodyBytes must be between 65536 and 68719476736.")]
    [InlineData("Relay:MaxAnswerBytes", "1024", "MaxAnswerBytes: The field RelayOptions.MaxAnswerBytes must be between 1048576 and 1073741824.")]
    [InlineData("Relay:MaxConcurrentRequests", "0", "MaxConcurrentRequests: The field RelayOptions.MaxConcurrentRequests must be between 1 and 1000000.")]
    [InlineData("Storage:MaxConnections", "0", "MaxConnections: The field StorageTransportOptions.MaxConnections must be between 1 and 1000.")]
    [InlineData("LocalQueues:MaxConcurrentSessions", "0", "MaxConcurrentSessions: The field LocalQueueOptions.MaxConcurrentSessions must be between 1 and 256.")]
    [InlineData("ImPlatforms:HttpTimeout", "00:05:00", "HttpTimeout: The field PlatformOptions.HttpTimeout must be between 00:00:01 and 00:01:00.")]
    // The usage writer's retry is built on its first write, so its back-off is checked here rather than by Polly then.
    [InlineData("UsageWriter:InitialBackoff", "-00:00:01", "InitialBackoff: The field UsageWriterOptions.InitialBackoff must be between 00:00:00 and 00:05:00.")]
    [InlineData("UsageWriter:MaxBackoff", "00:10:00", "MaxBackoff: The field UsageWriterOptions.MaxBackoff must be between 00:00:00 and 00:05:00.")]
    [InlineData("UsageWriter:MaxAuditBytes", "1000", "MaxAuditBytes: The field UsageWriterOptions.MaxAuditBytes must be between 65536 and 68719476736.")]
    [InlineData("UsageWriter:AuditUploads", "0", "AuditUploads: The field UsageWriterOptions.AuditUploads must be between 1 and 256.")]
    public void Start_SettingOutOfBounds_FailsNamingIt(string setting, string value, string expected)
    {
        // Some options are read while the app is composed, the rest by the start-up check: either way, before listening.
        var error = Assert.Throws<OptionsValidationException>(() =>
        {
            using var app = Build(new() { [setting] = value });
            app.Services.GetRequiredService<IStartupValidator>().Validate();
        });

        Assert.Equal(expected, error.Message);
    }

    [Theory]
    [InlineData("Limits:FlushInterval", "00:00:00.050")] // the bounds themselves are allowed
    [InlineData("Relay:StreamIdleTimeout", "00:30:00")]
    [InlineData("ImPlatforms:HttpTimeout", "00:00:01")]
    public void Start_SettingAtItsBound_Passes(string setting, string value)
    {
        using var app = Build(new() { [setting] = value });

        var validator = app.Services.GetRequiredService<IStartupValidator>();

        Assert.Null(Record.Exception(validator.Validate));
    }

    private static Microsoft.AspNetCore.Builder.WebApplication Build(Dictionary<string, string?> settings)
    {
        settings["AzureWebJobsStorage"] = "UseDevelopmentStorage=true";
        settings["RELAY_ENCRYPTION_KEYS"] = "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        settings["RELAY_ADMIN_KEY"] = "settings-admin-key";
        settings["RELAY_APP_ROOT"] = AppContext.BaseDirectory;
        return HandlerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));
    }
}
