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
    /// <remarks>
    /// NOTE: why 30 s and not less. Each refresh is a storage read per session in use and instance: 1,000 conversations
    /// on one instance made about 500 reads a second at 2 s (33 at 30 s), which in-memory Azurite beside the load answered
    /// late enough to put chat p99 at 0.5–1.4 s in the bench's several-accounts case (bench/ANALYSIS.md, "Several
    /// accounts, and many conversations at once"). What a longer life costs is only how soon this instance follows a
    /// move made by another. Account health is per instance, so it would send its other conversations on that account
    /// anyway until its own calls mark it, and then it skips the account whatever the binding says and fails over.
    /// </remarks>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan LocalCacheTtl { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="SessionOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class SessionOptionsValidator : IValidateOptions<SessionOptions>;
