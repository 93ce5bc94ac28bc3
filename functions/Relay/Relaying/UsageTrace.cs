using System.Diagnostics;
using Serverless.Relay.Accounts;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.Pricing;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Collects what one request did, as it happens, and hands exactly one usage row to the sink at the end, whatever
/// path the request took (refused, failed upstream, cut stream, success).
/// </summary>
internal sealed class UsageTrace(ClientApi api, ClientKey key, TimeProvider time)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _firstByte;
    private bool _recorded;

    public ClientKey Key => key;

    public string RequestId { get; } = "req_" + Guid.CreateVersion7().ToString("N");

    public string RequestedModel { get; set; } = "";

    public bool Stream { get; set; }

    public UpstreamAccount? Account { get; set; }

    public string? UpstreamModel { get; set; }

    public UsageAccumulator Usage { get; } = new();

    /// <summary>What the key's limits admitted; charged with the real usage and released when the request is recorded.</summary>
    public KeyLease Lease { get; set; } = KeyLease.Unlimited;

    public void FirstByteSent()
    {
        if (_firstByte == 0)
        {
            _firstByte = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Prices the usage, records the row, and charges and releases the limits lease.</summary>
    public void Record(IUsageSink sink, PriceTable prices, int status, string? error)
    {
        if (_recorded)
        {
            return;
        }

        _recorded = true;
        var usage = Usage.Current;
        var costMicros = prices.CostMicros(UpstreamModel, RequestedModel, usage);
        Lease.Complete(usage, costMicros is { } micros ? (long)Math.Ceiling(micros) : 0);
        Lease.Dispose();
        sink.Record(new UsageRecord
        {
            RequestId = RequestId,
            KeyId = key.Id,
            Owner = key.Owner,
            AccountId = Account?.Id,
            ClientApi = api.UsageName,
            RequestedModel = RequestedModel,
            UpstreamModel = UpstreamModel,
            Provider = Account?.Provider.WireName(),
            Stream = Stream,
            Status = status,
            Error = error,
            Usage = usage,
            CostUsd = (costMicros ?? 0) / KeyLimits.MicrosPerUsd,
            Unpriced = costMicros is null && usage.TotalTokens > 0,
            LatencyMs = Stopwatch.GetElapsedTime(_started).TotalMilliseconds,
            TimeToFirstByteMs = _firstByte == 0 ? null : Stopwatch.GetElapsedTime(_started, _firstByte).TotalMilliseconds,
            Timestamp = time.GetUtcNow(),
        });
    }
}
