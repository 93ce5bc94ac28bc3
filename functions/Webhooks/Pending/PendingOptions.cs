using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Webhooks.Pending;

/// <summary>How long pending IM messages live. Bound from the <c>Pending</c> section (<c>Pending__Ttl</c>, <c>Pending__Keep</c>).</summary>
internal sealed class PendingOptions
{
    public const string Section = "Pending";

    /// <summary>A message not delivered within this is expired and its user told it timed out.</summary>
    [TimeSpanRange("00:01:00", "1.00:00:00")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Rows (they are the dedup markers too) are deleted after this. It must outlast the platforms' retries of a
    /// webhook (hours at most) so a late retry is still recognised as a duplicate.
    /// </summary>
    [TimeSpanRange("1.00:00:00", "365.00:00:00")]
    public TimeSpan Keep { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>Checks <see cref="PendingOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class PendingOptionsValidator : IValidateOptions<PendingOptions>;
