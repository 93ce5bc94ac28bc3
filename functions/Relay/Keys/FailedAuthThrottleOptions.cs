using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Keys;

/// <summary>How many failed authentications an address may make. Bound from the <c>FailedAuth</c> section.</summary>
internal sealed class FailedAuthThrottleOptions
{
    public const string Section = "FailedAuth";

    /// <summary>Failures an address may make in a burst before it is slowed down.</summary>
    [Range(1, 10_000)]
    public int Burst { get; set; } = 10;

    /// <summary>One failure is forgiven per this interval: the sustained rate an address may fail at.</summary>
    [TimeSpanRange("00:00:00.001", "01:00:00")]
    public TimeSpan ForgiveEvery { get; set; } = TimeSpan.FromSeconds(6);
}

/// <summary>Checks <see cref="FailedAuthThrottleOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class FailedAuthThrottleOptionsValidator : IValidateOptions<FailedAuthThrottleOptions>;
