using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Validation;

internal static class ValidatedOptions
{
    /// <summary>
    /// Checks the options at start-up with <typeparamref name="TValidator"/>: one generated at build time by
    /// <c>[OptionsValidator]</c> from the options' validation attributes (and
    /// <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/>), or one written by hand. Also registers
    /// the options services of <typeparamref name="TOptions"/> closed (<see cref="AddClosedOptionsServices"/> says why):
    /// every options type of the app goes through here.
    /// </summary>
    /// <remarks>
    /// NOTE: generated validators instead of <c>ValidateDataAnnotations()</c>, which finds the attributes by reflection
    /// at run time: the handler is published with Native AOT, where those members may be gone and the check would pass
    /// unseen.
    /// </remarks>
    public static OptionsBuilder<TOptions> ValidateWith<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(this OptionsBuilder<TOptions> builder)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        AddClosedOptionsServices<TOptions>(builder.Services);
        return builder;
    }

    /// <summary>
    /// Registers the options services of <typeparamref name="TOptions"/> (factory, cache, monitor, value) closed, built
    /// by the framework's own classes as <c>AddOptions()</c>'s open generic registrations would build them. The handler
    /// also closes the framework's own options read at start-up with it (<c>ClosedGenerics</c>).
    /// </summary>
    /// <remarks>
    /// NOTE: why. Given only the open generics, the container makes each closed type at start-up with
    /// <c>MakeGenericType</c>, and in the native build the runtime's type loader then builds every such type from
    /// metadata: that was 31 % of the CPU to readiness. Closed here, the compiler sees each instantiation and builds it
    /// ahead of time, which took the type loader to 17 % and readiness about 20 % sooner (bench/ANALYSIS.md, "Usage
    /// batches, request ids and options at start-up"). One difference: <see cref="IOptions{TOptions}"/> creates its value
    /// when it is resolved, not on first read; every options type of the app is validated at start-up anyway (for the
    /// framework's, <c>ClosedGenerics</c> says why it does not matter either).
    /// </remarks>
    internal static void AddClosedOptionsServices<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(IServiceCollection services)
        where TOptions : class
    {
        services.TryAddSingleton<IOptionsFactory<TOptions>>(static sp => new OptionsFactory<TOptions>(
            sp.GetServices<IConfigureOptions<TOptions>>(), sp.GetServices<IPostConfigureOptions<TOptions>>(), sp.GetServices<IValidateOptions<TOptions>>()));
        services.TryAddSingleton<IOptionsMonitorCache<TOptions>>(static _ => new OptionsCache<TOptions>());
        services.TryAddSingleton<IOptionsMonitor<TOptions>>(static sp => new OptionsMonitor<TOptions>(
            sp.GetRequiredService<IOptionsFactory<TOptions>>(), sp.GetServices<IOptionsChangeTokenSource<TOptions>>(), sp.GetRequiredService<IOptionsMonitorCache<TOptions>>()));
        services.TryAddSingleton<IOptions<TOptions>>(static sp => new OptionsWrapper<TOptions>(sp.GetRequiredService<IOptionsFactory<TOptions>>().Create(Options.DefaultName)));
    }
}
