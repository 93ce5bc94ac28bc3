using System.Globalization;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Limits;

/// <summary>Where a key stands on one of its limits, as this instance knows it (for the rate-limit headers).</summary>
/// <param name="Remaining">What is left in the window: the limit minus committed use, other instances' leases and this instance's own use.</param>
/// <param name="ResetsAt">When the window ends; null for a budget or concurrency.</param>
internal readonly record struct LimitStatus(LimitRule Rule, long Remaining, DateTimeOffset? ResetsAt);

/// <summary>
/// The outcome of <see cref="KeyLimiter.AcquireAsync"/>, read like the runtime's <c>RateLimitLease</c>: check
/// <see cref="IsAcquired"/>; a refusal carries its <see cref="RetryAfter"/> as data. An acquired lease holds the
/// request's reservations (a concurrency slot, estimated tokens) until <see cref="Complete"/> charges the real usage
/// and <see cref="Dispose"/> gives back what is left — at stream end, failure or client disconnect alike.
/// </summary>
internal sealed class KeyLease : IDisposable
{
    /// <summary>A key with no limits: nothing held, nothing to release.</summary>
    public static readonly KeyLease Unlimited = new([], null, null, []);

    private readonly KeyLimiter.Take[] _takes;
    private readonly long? _oversizedTokens;
    private Usage _usage = Usage.Empty;
    private long _costMicros;
    private int _released;

    internal KeyLease(KeyLimiter.Take[] takes, LimitRule? refusedBy, TimeSpan? retryAfter, IReadOnlyList<LimitStatus> statuses, string? message = null, long? oversizedTokens = null)
    {
        _oversizedTokens = oversizedTokens;
        _takes = takes;
        RefusedBy = refusedBy;
        RetryAfter = retryAfter;
        Statuses = statuses;
        Message = message;
    }

    public bool IsAcquired => RefusedBy is null && Message is null;

    /// <summary>The limit that refused the request, when one did.</summary>
    public LimitRule? RefusedBy { get; }

    /// <summary>When trying again can succeed; null when it cannot (a spent budget) or is unknown.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Each limit the request counted against, for the rate-limit headers.</summary>
    public IReadOnlyList<LimitStatus> Statuses { get; }

    private string? Message { get; }

    /// <summary>Records what the request really used; charged when the lease is disposed. Call at most once.</summary>
    public void Complete(Usage usage, long costMicros)
    {
        if (_takes.Length == 0)
        {
            return; // nothing to charge (and Unlimited is shared)
        }

        _usage = usage;
        _costMicros = costMicros;
    }

    public void Dispose()
    {
        if (_takes.Length > 0 && Interlocked.Exchange(ref _released, 1) == 0)
        {
            KeyLimiter.Release(_takes, _usage, _costMicros);
        }
    }

    /// <summary>The refusal in relay terms, for the client's error shape.</summary>
    public RelayError ToError()
    {
        if (Message is not null)
        {
            return new RelayError(ErrorKind.Unavailable, Message) { RetryAfter = RetryAfter };
        }

        var rule = RefusedBy!;
        var message = rule switch
        {
            _ when _oversizedTokens is { } tokens => $"This request's ~{tokens.ToString(CultureInfo.InvariantCulture)} input tokens exceed this API key's {rule.FieldName} limit of {rule.Amount.ToString(CultureInfo.InvariantCulture)}; it cannot be served as it is.",
            { Metric: LimitMetric.Concurrency } => $"This API key already has {rule.Amount} requests in flight (limits.maxConcurrency); try again when one ends.",
            { Metric: LimitMetric.Cost } => $"This API key has spent its {rule.FieldName} budget of {Usd(rule.Amount)} USD.",
            _ => $"This API key has reached its {rule.FieldName} limit of {rule.Amount.ToString(CultureInfo.InvariantCulture)}.",
        };
        if (RetryAfter is { } wait)
        {
            message += $" Try again in {Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture)} s.";
        }

        return new RelayError(ErrorKind.RateLimited, message) { RetryAfter = RetryAfter };
    }

    private static string Usd(long micros) => KeyLimits.ToUsd(micros).ToString("0.######", CultureInfo.InvariantCulture);
}
