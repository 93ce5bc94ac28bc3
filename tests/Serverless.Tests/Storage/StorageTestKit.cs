using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Relay;

namespace Serverless.Tests.Storage;

/// <summary>A clock that moves only when told to.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public ManualTimeProvider()
        : this(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Settings and service providers for storage tests: every caller gets its own table prefix.</summary>
internal static class StorageTestKit
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static readonly string Key1 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    public static readonly string Key2 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static string UniquePrefix(string name) => name + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public static Dictionary<string, string?> Settings(AzuriteFixture azurite, string prefix, string? adminKey = "admin-secret") => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["RELAY_TABLE_PREFIX"] = prefix,
        ["RELAY_ENCRYPTION_KEYS"] = $"k1={Key1};k2={Key2}",
        ["RELAY_ADMIN_KEY"] = adminKey,
    };

    public static ServiceProvider Services(IDictionary<string, string?> settings, TimeProvider? time = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddRelayStorage(configuration);
        return services.BuildServiceProvider();
    }
}
