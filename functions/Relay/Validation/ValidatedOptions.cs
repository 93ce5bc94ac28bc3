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
    /// <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/>), or one written by hand.
    /// </summary>
    /// <remarks>
    /// NOTE: generated validators instead of <c>ValidateDataAnnotations()</c>, which finds the attributes by reflection
    /// at run time: the handler is published with Native AOT, where those members may be gone and the check would pass
    /// unseen.
    /// </remarks>
    public static OptionsBuilder<TOptions> ValidateWith<TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(this OptionsBuilder<TOptions> builder)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return builder;
    }
}
