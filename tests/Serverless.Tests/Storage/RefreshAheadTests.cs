using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Pricing;
using Serverless.Relay.Sessions;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Storage;

/// <summary>
/// The price table and a session binding in use are read again in the background near the end of their cache life
/// (<see cref="RefreshAhead"/>): every call answers at once, and the renewed value is what serves past the old expiry.
/// The key cache and the account directory have their own tests (ClientKeyOutageTests, AccountDirectoryTests).
/// </summary>
public sealed class RefreshAheadTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private readonly ManualTimeProvider _time = new();
    private readonly Dictionary<string, string?> _settings = StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("ahead"));
    private readonly List<ServiceProvider> _providers = [];

    public void Dispose() => _providers.ForEach(p => p.Dispose());

    /// <summary>A fresh instance's view of the same storage (its own caches).</summary>
    private ServiceProvider Instance()
    {
        var services = StorageTestKit.Services(_settings, _time);
        _providers.Add(services);
        return services;
    }

    private PriceBook Prices(ServiceProvider services) =>
        new(services.GetRequiredService<RelayTables>(), services.GetRequiredService<HotPathStorage>(), _time, NullLogger<PriceBook>.Instance);

    private SessionBindings Sessions(ServiceProvider services) =>
        new(services.GetRequiredService<RelayTables>(), services.GetRequiredService<HotPathStorage>(), Options.Create(new SessionOptions()), _time, NullLogger<SessionBindings>.Instance);

    [Fact]
    public async Task PriceBook_TableInUseNearExpiry_IsRenewedInTheBackground()
    {
        var ct = TestContext.Current.CancellationToken;
        var prices = Prices(Instance());
        Assert.True((await prices.GetAsync(ct).AsTask().WaitAsync(Timeout, ct)).IsDefault);
        await Prices(Instance()).PutAsync(DefaultPrices.Table with { Source = "operator table" }, ct).WaitAsync(Timeout, ct);

        _time.Advance(PriceBook.Ttl * 0.9);
        var renewed = await AtOnce.UntilAsync(() => prices.GetAsync(ct), t => t.Source == "operator table", Timeout, ct);
        _time.Advance(PriceBook.Ttl * 0.5);
        var later = await AtOnce.ProbeAsync(prices.GetAsync(ct));

        Assert.Equal("operator table", renewed.Source);
        Assert.True(later.AtOnce);
        Assert.Equal("operator table", later.Value.Source);
    }

    [Fact]
    public async Task SessionBindings_BindingInUseNearExpiry_IsRenewedInTheBackground()
    {
        var ct = TestContext.Current.CancellationToken;
        var sessions = Sessions(Instance());
        var key = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await sessions.WriteAsync(key, "acct_a", _time.GetUtcNow()).WaitAsync(Timeout, ct);
        Assert.Equal("acct_a", (await sessions.ResolveAsync(key, ct).AsTask().WaitAsync(Timeout, ct))?.AccountId);
        await Sessions(Instance()).WriteAsync(key, "acct_b", _time.GetUtcNow()).WaitAsync(Timeout, ct); // moved by another instance

        var ttl = new SessionOptions().LocalCacheTtl;
        _time.Advance(ttl * 0.9);
        var renewed = await AtOnce.UntilAsync(() => sessions.ResolveAsync(key, ct), b => b?.AccountId == "acct_b", Timeout, ct);
        _time.Advance(ttl * 0.5);
        var later = await AtOnce.ProbeAsync(sessions.ResolveAsync(key, ct));

        Assert.Equal("acct_b", renewed?.AccountId);
        Assert.True(later.AtOnce);
        Assert.Equal("acct_b", later.Value?.AccountId);
    }
}
