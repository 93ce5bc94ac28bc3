using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Accounts;

/// <summary>How long marks last. Bound from the <c>Accounts</c> section (e.g. <c>Accounts__CircuitBreakDuration</c>).</summary>
internal sealed class AccountHealthOptions
{
    public const string Section = "Accounts";

    /// <summary>Cool-down after a 429 that sent no <c>retry-after</c>.</summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan RateLimitCooldown { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Cool-down after a 529 or an <c>overloaded_error</c> that sent no <c>retry-after</c>.</summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan OverloadedCooldown { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>An upstream's <c>retry-after</c> is honoured up to this.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan MaxCooldown { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Consecutive 5xx, timeouts or connect failures that open the circuit.</summary>
    [Range(1, 100)]
    public int CircuitFailureThreshold { get; set; } = 3;

    /// <summary>How long an open circuit stays open before one half-open probe is let through.</summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="AccountHealthOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class AccountHealthOptionsValidator : IValidateOptions<AccountHealthOptions>;
