using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Jobs.Retention;

/// <summary>How long rows are kept, and how long one sweeping run may take. Bound from the <c>Retention</c> section (<c>Retention__UsageDays</c>, ...).</summary>
internal sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>Per-request usage rows older than this are deleted; the hourly totals (what <c>/api/admin/usage</c> reads) are kept.</summary>
    [Range(1, 36500)]
    public int UsageDays { get; set; } = 400;

    /// <summary>Audit rows and bodies of requests older than this are deleted: five years by default, as audits ask.</summary>
    [Range(1, 36500)]
    public int AuditDays { get; set; } = 1825;

    /// <summary>Conversation turns (and reset marks) older than this are deleted.</summary>
    [Range(1, 36500)]
    public int ConversationDays { get; set; } = 30;

    /// <summary>
    /// The most one Retention or PurgePending run spends deleting (each sweep still deletes one batch), well under the
    /// host's function timeout; what is left is the next run's.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:30:00")]
    public TimeSpan MaxRunTime { get; set; } = TimeSpan.FromMinutes(4);
}

/// <summary>Checks <see cref="RetentionOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class RetentionOptionsValidator : IValidateOptions<RetentionOptions>;
