using Serverless.Relay.Metering;
using Serverless.Relay.Telemetry;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Turns new requests away while metering is behind, for HTTP clients and in-process callers alike: every admitted
/// request adds a usage row (and, for a full audit, its bodies), none may be dropped, so the usage queue's bounds hold
/// only if no more come in than go out.
/// </summary>
/// <remarks>
/// NOTE: two doors. Rows are counted once per request, so any request waits at the first; bodies are counted by their
/// bytes, and only a request that would keep its own waits at the second, which is known once its key is.
/// </remarks>
internal sealed class UsageDoor(IUsageSink usage, RelayMetrics metrics)
{
    private static readonly RelayError RowsBacklogged = new(ErrorKind.Unavailable, "The relay is waiting for storage to take its usage records; retry shortly.")
    {
        RetryAfter = RequestBody.BusyRetryAfter,
    };

    private static readonly RelayError BodiesBacklogged = new(ErrorKind.Unavailable, "The relay is waiting for storage to take its audit records; retry shortly.")
    {
        RetryAfter = RequestBody.BusyRetryAfter,
    };

    /// <summary>The refusal of any new request while usage rows wait beyond the writer's capacity; null while the door is open.</summary>
    public RelayError? RefusesAny()
    {
        if (!usage.Backlogged)
        {
            return null;
        }

        metrics.Shed("usage-backlog");
        return RowsBacklogged;
    }

    /// <summary>The refusal of <paramref name="request"/> when it would keep its bodies while full audits' bodies wait beyond their bound; null otherwise.</summary>
    public RelayError? Refuses(RelayRequest request)
    {
        if (!request.KeepsBodies || !usage.AuditBacklogged)
        {
            return null;
        }

        metrics.Shed("audit-backlog");
        return BodiesBacklogged;
    }
}
