using System.Diagnostics;
using Serverless.Relay.Accounts;
using Serverless.Relay.Audit;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.Pricing;
using Serverless.Relay.Providers;
using Serverless.Relay.Telemetry;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Collects what one request did, as it happens, and hands exactly one usage row to the sink at the end, whatever
/// path the request took (refused, failed upstream, cut stream, success), and ends the request's span and metrics with it.
/// </summary>
internal sealed class UsageTrace(ClientApi api, ClientKey key, TimeProvider time, GenAiTelemetry telemetry)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _firstByte;
    private bool _recorded;
    private Settlement? _settled;
    private Activity? _span;

    public ClientKey Key => key;

    /// <summary>Carries the request's start time (see <see cref="AuditKeys"/>): audit rows are keyed by it.</summary>
    public string RequestId { get; } = AuditKeys.NewRequestId(time.GetUtcNow());

    public string RequestedModel { get; set; } = "";

    public bool Stream { get; set; }

    public UpstreamAccount? Account { get; set; }

    public string? UpstreamModel { get; set; }

    public UsageAccumulator Usage { get; } = new();

    /// <summary>Why the answer ended, when the upstream said (the span's finish reason).</summary>
    public StopReason? StopReason { get; set; }

    /// <summary>The id the upstream gave its answer, when it was read (a stored Responses answer is continued by it).</summary>
    public string? AnswerId { get; set; }

    /// <summary>What the audit row records; set when the request is over, before <see cref="Record"/>.</summary>
    public AuditFacts? Audit { get; set; }

    /// <summary>What the key's limits admitted; charged with the real usage and released when the request is recorded.</summary>
    public KeyLease Lease { get; set; } = KeyLease.Unlimited;

    /// <summary>
    /// Starts the request's span (a child of ASP.NET Core's request activity, so of a client's <c>traceparent</c>) when
    /// an exporter listens; returns its trace id for the response, or null when no trace is recorded.
    /// </summary>
    public string? StartSpan()
    {
        _span = GenAiTelemetry.StartRequest(RequestTelemetry.OperationOf(api), RequestedModel, RequestId);
        return _span is { Recorded: true } ? _span.TraceId.ToHexString() : null;
    }

    public void FirstByteSent()
    {
        if (_firstByte == 0)
        {
            _firstByte = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>
    /// The outcome of the request from what was collected so far. <paramref name="started"/> says whether the client
    /// already has a status line.
    /// </summary>
    public RelayOutcome End(RelayOutcomeKind kind, int status, bool started, RelayError? error = null, RelayedError? relayed = null, string? detail = null) => new()
    {
        Kind = kind,
        Status = status,
        Error = error,
        Relayed = relayed,
        Detail = detail,
        ResponseStarted = started,
        Usage = Usage.Current,
        Account = Account,
        UpstreamModel = UpstreamModel,
        TimeToFirstByte = _firstByte == 0 ? null : Stopwatch.GetElapsedTime(_started, _firstByte),
    };

    /// <summary>
    /// Prices the outcome's usage, and charges and releases the limits lease with it; once. An answer is settled before
    /// its last bytes go (a key at its concurrency limit may send its next request the moment it has them) and recorded
    /// after; every other outcome is settled by <see cref="Record"/>.
    /// </summary>
    public void Settle(PriceTable prices, RelayOutcome outcome)
    {
        if (_settled is not null)
        {
            return;
        }

        var costMicros = prices.CostMicros(outcome.UpstreamModel, RequestedModel, outcome.Usage);
        _settled = new Settlement(costMicros, Stopwatch.GetElapsedTime(_started));
        Lease.Complete(outcome.Usage, PriceTable.ChargeMicros(costMicros));
        Lease.Dispose();
    }

    /// <summary>
    /// The one place an outcome becomes a usage row: settles it (<see cref="Settle"/>) unless that was done, and records
    /// the row. Exactly once per request, whatever path it took.
    /// </summary>
    public void Record(IUsageSink sink, PriceTable prices, RelayOutcome outcome)
    {
        if (_recorded)
        {
            return;
        }

        _recorded = true;
        Settle(prices, outcome);
        var (costMicros, elapsed) = _settled!.Value;
        var usage = outcome.Usage;
        sink.Record(new UsageRecord
        {
            RequestId = RequestId,
            KeyId = key.Id,
            Owner = key.Owner,
            AccountId = outcome.Account?.Id,
            ClientApi = api.UsageName,
            RequestedModel = RequestedModel,
            UpstreamModel = outcome.UpstreamModel,
            Provider = outcome.Account?.Provider.WireName(),
            Stream = Stream,
            Status = outcome.Status,
            Error = outcome.RecordedError,
            Usage = usage,
            CostUsd = (costMicros ?? 0) / KeyLimits.MicrosPerUsd,
            Unpriced = costMicros is null && usage.TotalTokens > 0,
            LatencyMs = elapsed.TotalMilliseconds,
            TimeToFirstByteMs = outcome.TimeToFirstByte?.TotalMilliseconds,
            Timestamp = time.GetUtcNow(),
            Audit = Audit,
        });
        telemetry.Complete(_span, new GenAiRequest
        {
            Operation = RequestTelemetry.OperationOf(api),
            Provider = outcome.Account?.Provider.GenAiName(),
            RequestModel = RequestedModel,
            ResponseModel = outcome.UpstreamModel,
            InputTokens = usage.TotalInputTokens,
            OutputTokens = usage.OutputTokens,
            FinishReason = StopReason is { } reason ? RequestTelemetry.FinishReasonOf(reason) : null,
            ErrorType = RequestTelemetry.ErrorTypeOf(outcome),
            Duration = elapsed,
            TimeToFirstToken = outcome.TimeToFirstByte,
        });
    }

    /// <summary>Releases the limits lease without a row, when recording itself failed.</summary>
    public void ReleaseLease() => Lease.Dispose();

    /// <param name="Elapsed">The request's latency: until it was settled, which for an answer is when it was whole.</param>
    private readonly record struct Settlement(decimal? CostMicros, TimeSpan Elapsed);
}
