using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Sessions;

/// <summary>Sticky sessions. Bound from the <c>Sessions</c> section.</summary>
internal sealed class SessionOptions
{
    public const string Section = "Sessions";

    public bool Enabled { get; set; } = true;

    /// <summary>A binding unused this long is forgotten; every use slides it.</summary>
    [TimeSpanRange("00:00:10", "7.00:00:00")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long an instance trusts a binding it read or wrote before reading storage again, in the background of the
    /// session's next request: a move made by another instance is followed from the request after that on.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan LocalCacheTtl { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>Checks <see cref="SessionOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class SessionOptionsValidator : IValidateOptions<SessionOptions>;
