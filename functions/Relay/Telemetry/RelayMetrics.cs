using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Serverless.Relay.Telemetry;

/// <summary>
/// The relay's own instruments, beside the GenAI conventions' ones: refusals by limit, requests shed by a saturated
/// instance and those in flight, account health transitions, failovers, the usage writer's queue and rows, IM messages
/// by state. Every label is a fixed, small set of names (a limit's field name, a status, a state): never a key, an
/// account id or any text a client sent.
/// </summary>
internal sealed class RelayMetrics
{
    private readonly Meter _meter;
    private readonly Counter<long> _limitRefusals;
    private readonly Counter<long> _shed;
    private readonly Counter<long> _healthTransitions;
    private readonly Counter<long> _failovers;
    private readonly Counter<long> _usageRowsWritten;
    private readonly Counter<long> _usageRowsFailed;
    private readonly Counter<long> _imMessages;

    public RelayMetrics(Meter meter)
    {
        _meter = meter;
        _limitRefusals = meter.CreateCounter<long>("relay.limit.refusals", "{request}", "Requests refused by a key's limits, by the limit that refused them.");
        _shed = meter.CreateCounter<long>("relay.requests.shed", "{request}", "Requests refused before any work because the instance was saturated, by why (concurrency, usage-backlog, audit-backlog).");
        _healthTransitions = meter.CreateCounter<long>("relay.account.health.transitions", "{transition}", "Upstream accounts moving to a health status (cooling-down, circuit-open, disabled, available).");
        _failovers = meter.CreateCounter<long>("relay.failovers", "{attempt}", "Attempts moved on to the next account after one failed, by why it failed.");
        _usageRowsWritten = meter.CreateCounter<long>("relay.usage.rows.written", "{row}", "Usage rows stored.");
        _usageRowsFailed = meter.CreateCounter<long>("relay.usage.rows.failed", "{row}", "Usage rows that could not be stored and were dropped.");
        _imMessages = meter.CreateCounter<long>("relay.im.messages", "{message}", "IM messages entering a state (queued, answered, delivered, failed, expired).");
    }

    /// <summary>A limit refused a request: <paramref name="limit"/> is the limit's field name (<c>requestsPerMinute</c>…).</summary>
    public void LimitRefused(string limit)
    {
        if (_limitRefusals.Enabled)
        {
            _limitRefusals.Add(1, new KeyValuePair<string, object?>("relay.limit", limit));
        }
    }

    /// <summary>
    /// A request was refused at the door: <paramref name="reason"/> is <c>concurrency</c> (the instance's bound on
    /// requests at once), <c>usage-backlog</c> (usage records waiting for storage) or <c>audit-backlog</c> (a request that
    /// would keep its bodies while full audits' bodies wait for storage).
    /// </summary>
    public void Shed(string reason)
    {
        if (_shed.Enabled)
        {
            _shed.Add(1, new KeyValuePair<string, object?>("relay.shed.reason", reason));
        }
    }

    /// <summary>Observes the relayed requests in flight (admitted, not yet ended) at each collection.</summary>
    public void ObserveRequestsInFlight(Func<int> count) =>
        _meter.CreateObservableUpDownCounter("relay.requests.in_flight", () => new Measurement<int>(count()), "{request}", "Relayed requests admitted and not yet ended.");

    public void AccountHealthChanged(string status)
    {
        if (_healthTransitions.Enabled)
        {
            _healthTransitions.Add(1, new KeyValuePair<string, object?>("relay.account.status", status));
        }
    }

    /// <summary>An attempt failed with <paramref name="reason"/> and the request moved on to the next candidate.</summary>
    public void FailedOver(string reason)
    {
        if (_failovers.Enabled)
        {
            _failovers.Add(1, new KeyValuePair<string, object?>("relay.failover.reason", reason));
        }
    }

    public void UsageRowsWritten(int count) => _usageRowsWritten.Add(count);

    public void UsageRowsFailed(int count) => _usageRowsFailed.Add(count);

    /// <summary>Observes the usage writer's queue (records waiting to be written) at each collection.</summary>
    public void ObserveUsageQueue(Func<int> depth) =>
        _meter.CreateObservableGauge("relay.usage.queue.depth", () => new Measurement<int>(depth()), "{row}", "Usage records waiting to be written.");

    public void ImMessageEntered(string state)
    {
        if (_imMessages.Enabled)
        {
            _imMessages.Add(1, new KeyValuePair<string, object?>("relay.im.state", state));
        }
    }
}
