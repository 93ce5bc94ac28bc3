using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;
using Xunit;

namespace Serverless.Tests.Hosting;

/// <summary>
/// <see cref="ValidatedOptions.ValidateWith{TOptions, TValidator}"/> registers the options services of its type closed
/// (no open generic for the container to instantiate at start-up); they must behave as the framework's own.
/// </summary>
public sealed class ValidatedOptionsTests
{
    [Fact]
    public void Resolve_BoundValue_EveryOptionsServiceReadsIt()
    {
        using var provider = Services(new() { ["Sample:Size"] = "7" }, out _);

        Assert.Equal(7, provider.GetRequiredService<IOptions<SampleOptions>>().Value.Size);
        Assert.Equal(7, provider.GetRequiredService<IOptionsMonitor<SampleOptions>>().CurrentValue.Size);
        using var scope = provider.CreateScope();
        Assert.Equal(7, scope.ServiceProvider.GetRequiredService<IOptionsSnapshot<SampleOptions>>().Value.Size);
    }

    [Fact]
    public void Reload_NewValue_MonitorSeesItAndOptionsKeepsTheFirst()
    {
        using var provider = Services(new() { ["Sample:Size"] = "7" }, out var configuration);
        var options = provider.GetRequiredService<IOptions<SampleOptions>>();
        var monitor = provider.GetRequiredService<IOptionsMonitor<SampleOptions>>();
        Assert.Equal(7, options.Value.Size);
        var changes = new List<int>();
        using var subscription = monitor.OnChange(value => changes.Add(value.Size));

        configuration["Sample:Size"] = "9";
        configuration.Reload();

        Assert.Equal(9, monitor.CurrentValue.Size);
        Assert.Equal([9], changes);
        Assert.Equal(7, options.Value.Size);
    }

    [Fact]
    public void Resolve_RefusedValue_EveryServiceAndTheStartCheckThrow()
    {
        using var provider = Services(new() { ["Sample:Size"] = "-1" }, out _);

        var fromOptions = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SampleOptions>>().Value);
        var fromMonitor = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<SampleOptions>>().CurrentValue);
        var atStart = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.All(new[] { fromOptions, fromMonitor, atStart }, e => Assert.Equal("Size must not be negative, was -1.", e.Message));
    }

    [Fact]
    public void Monitor_NamedOptions_ConfiguredApartFromTheDefault()
    {
        var services = new ServiceCollection();
        services.AddOptions<SampleOptions>().Configure(o => o.Size = 1).ValidateWith<SampleOptions, SampleOptionsValidator>();
        services.Configure<SampleOptions>("other", o => o.Size = 2);
        using var provider = services.BuildServiceProvider();

        var monitor = provider.GetRequiredService<IOptionsMonitor<SampleOptions>>();

        Assert.Equal(1, monitor.CurrentValue.Size);
        Assert.Equal(2, monitor.Get("other").Size);
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings, out IConfigurationRoot configuration)
    {
        configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddOptions<SampleOptions>().Bind(configuration.GetSection("Sample")).ValidateWith<SampleOptions, SampleOptionsValidator>().ValidateOnStart();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public sealed class SampleOptions
    {
        public int Size { get; set; }
    }

    private sealed class SampleOptionsValidator : IValidateOptions<SampleOptions>
    {
        public ValidateOptionsResult Validate(string? name, SampleOptions options) =>
            options.Size < 0 ? ValidateOptionsResult.Fail($"Size must not be negative, was {options.Size}.") : ValidateOptionsResult.Success;
    }
}
