using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Storage;

/// <summary>How long a request may wait for storage. Bound from the <c>Storage</c> section (<c>Storage__HotPathTimeout</c>).</summary>
internal sealed class HotPathStorageOptions
{
    public const string Section = "Storage";

    /// <summary>
    /// The most a storage read on the request path (key lookup, sticky session, price table, account refresh) may take
    /// before the relay decides without it. A healthy Table read takes a few milliseconds.
    /// </summary>
    [TimeSpanRange("00:00:00.050", "00:00:30")]
    public TimeSpan HotPathTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The deadline of a read the request cannot be decided without (a key never seen on this instance): longer,
    /// since giving up means refusing the request, and such reads are tried even during an outage back-off.
    /// </summary>
    [TimeSpanRange("00:00:00.050", "00:00:30")]
    public TimeSpan DecisiveReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// After a hot-path read failed, how long requests decide without storage at once instead of each waiting for
    /// <see cref="HotPathTimeout"/>; the first request after it probes storage again.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan OutageBackoff { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Checks <see cref="HotPathStorageOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class HotPathStorageOptionsValidator : IValidateOptions<HotPathStorageOptions>;
