using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Metering;

/// <summary>Tuning of <see cref="UsageWriter"/> (<c>UsageWriter__*</c>); the defaults suit production, tests shrink them.</summary>
internal sealed class UsageWriterOptions
{
    public const string Section = "UsageWriter";

    /// <summary>
    /// Records waiting for storage before the relay sheds new requests (503 + <c>Retry-After</c>) until they drain: the
    /// bound on the writer's memory (a full queue of 100,000 took the resident set from 160 to 400 MB in bench runs). None is ever dropped: the
    /// requests in flight when it is reached still record theirs (<see cref="UsageWriter.Record"/>).
    /// </summary>
    [Range(1, 10_000_000)]
    public int Capacity { get; set; } = 100_000;

    /// <summary>
    /// Bytes of full-audit bodies (keys and channels with <c>"audit": "full"</c>) that may wait for their blobs: beyond
    /// it the relay sheds new requests as it does at <see cref="Capacity"/>. A record is counted once, whatever it
    /// holds, and a full audit's record holds both bodies (up to twice <c>Audit__MaxBodyBytes</c>), so the count alone
    /// bounded nothing: 38,000 records of a full-audit key took the relay to 1 GB resident (bench/ANALYSIS.md, "Full
    /// audit: bodies in the usage queue").
    /// </summary>
    [Range(64L * 1024, 64L * 1024 * 1024 * 1024)]
    public long MaxAuditBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Full-audit bodies blobs the writer uploads at once. One at a time, the writer kept up with a few hundred
    /// audited requests a second against local storage and far fewer against a storage account's round trips.
    /// </summary>
    [Range(1, 256)]
    public int AuditUploads { get; set; } = 16;

    /// <summary>
    /// Attempts per batch when storage fails transiently (on top of the SDK's own retries); null (the default) retries
    /// until storage answers or the host stops. NOTE: a cap lost rows: 8 attempts were about 25 s, so a longer outage
    /// dropped every batch in flight, although the outage is exactly what the queue exists to ride out.
    /// </summary>
    [Range(1, 100)]
    public int? MaxAttempts { get; set; }

    /// <summary>
    /// The deadline of one write attempt (a transaction of up to 100 rows, or one key's totals update), after which it
    /// is cancelled and retried on a new connection. Well above a healthy write (milliseconds), below the SDK's 3 × 10 s.
    /// </summary>
    [TimeSpanRange("00:00:00.010", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First backoff delay; doubled per attempt up to <see cref="MaxBackoff"/>.</summary>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The longest wait between attempts, so rows are written within about this long of storage answering again (it
    /// was 10 s; an attempt on a refused connection costs a few hundred milliseconds of the SDK's own retries).
    /// </summary>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// After waking for a new record, wait this long before writing, so requests that arrive together share one
    /// transaction. Without it, at low load every request cost its own storage round trip (bench/RESULTS.md: about
    /// 1 ms of relay CPU and 1 ms of storage CPU per request at concurrency 1). Zero writes at once.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:00:05")]
    public TimeSpan BatchLinger { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long the hourly totals of written rows are summed in memory before they are added to their rows (and on
    /// stop). Every instance adds to the same hour's partition, one read and one write per key, model and account it
    /// served; per batch that was the first storage target a scaled-out app reached (bench/SCALE.md). The usage API
    /// lags by up to this much; request rows are written as before. Zero adds them with every batch.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan TotalsInterval { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Checks <see cref="UsageWriterOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class UsageWriterOptionsValidator : IValidateOptions<UsageWriterOptions>;
