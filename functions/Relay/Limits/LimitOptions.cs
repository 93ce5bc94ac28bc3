using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Limits;

/// <summary>Tuning of <see cref="KeyLimiter"/>. Bound from the <c>Limits</c> section (<c>Limits__FlushInterval</c>).</summary>
internal sealed class LimitOptions : IValidatableObject
{
    /// <summary>
    /// How long a lease outlives its instance's last sync. A crashed instance's unspent allowance comes back after
    /// this; a live instance renews well before (every <see cref="FlushInterval"/>).
    /// </summary>
    [TimeSpanRange("00:00:02", "00:10:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often an instance reports what it consumed, renews the leases of counters in use and returns the allowance
    /// idle counters hold unused.
    /// </summary>
    [TimeSpanRange("00:00:00.050", "00:01:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a counter may go without a sync while its key is far below that limit and its lease outlasts the wait at
    /// its pace: its flushes are skipped until then (a lease is renewed, or an idle one handed back, that much later).
    /// Storage sees fewer syncs (bench/SCALE.md: the counters were most of a large deployment's storage operations); the
    /// stored use lags by this much. At most <see cref="LeaseDuration"/> less two flush intervals is used, so a quiet
    /// lease is renewed while requests may still take from it. <see cref="FlushInterval"/> or less: every counter in use
    /// syncs at least once a flush interval.
    /// </summary>
    [TimeSpanRange("00:00:00.050", "00:05:00")]
    public TimeSpan QuietSyncInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a request waits for its key's counters to sync (its key's first request in a window, or a lease spent or
    /// lapsing) before it is refused as unchecked (503, Retry-After 1 s): limits fail closed, and a storage account that
    /// does not answer must not hold the key's requests for the table SDK's retries.
    /// </summary>
    [TimeSpanRange("00:00:00.050", "00:01:00")]
    public TimeSpan SyncTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (FlushInterval * 2 > LeaseDuration)
        {
            yield return new ValidationResult("Limits:FlushInterval must be at most half of Limits:LeaseDuration, so leases are renewed before they lapse.", [nameof(FlushInterval)]);
        }
    }
}

/// <summary>Checks <see cref="LimitOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class LimitOptionsValidator : IValidateOptions<LimitOptions>;
