using Microsoft.AspNetCore.Http;
using Serverless.Relay.Keys;
using Serverless.Relay.Telemetry;

namespace Serverless.Relay.Relaying;

/// <summary>The HTTP entry of the chat APIs: builds the <see cref="RelayRequest"/>, forwards it, answers any failure.</summary>
internal sealed class HttpRelay(RelayRequestReader reader, RelayForwarder forwarder, UsageDoor door, InFlightRequests inFlight, RelayMetrics metrics, TimeProvider time)
{
    /// <summary>The answer while the instance serves as many requests as <see cref="RelayOptions.MaxConcurrentRequests"/> allows.</summary>
    private static readonly RelayError Saturated = new(ErrorKind.Unavailable, "The relay is serving as many requests as it is configured for; retry shortly.")
    {
        RetryAfter = RequestBody.BusyRetryAfter,
    };

    public async Task RelayAsync(HttpContext context, ClientApi api, RouteHints hints)
    {
        // :: Step 0 Shed before any work when metering is behind (every request admitted here will add a usage row, and
        // none may be dropped, so the queue's bound holds only if no more requests come in than rows go out) or when
        // the instance already serves all it may.
        if (door.RefusesAny() is { } backlogged)
        {
            await ShedAsync(context, api, backlogged).ConfigureAwait(false);
            return;
        }

        if (!inFlight.TryEnter())
        {
            metrics.Shed("concurrency");
            await ShedAsync(context, api, Saturated).ConfigureAwait(false);
            return;
        }

        try
        {
            await RelayAdmittedAsync(context, api, hints).ConfigureAwait(false);
        }
        finally
        {
            inFlight.Leave();
        }
    }

    private async Task RelayAdmittedAsync(HttpContext context, ClientApi api, RouteHints hints)
    {
        // :: Step 1 Build the request once: key, body, JSON, the client API's format and hints.
        var read = await reader.ReadAsync(context, api, hints).ConfigureAwait(false);
        if (read.Key is null)
        {
            await RelayResults.WriteFailureAsync(context, api.Format, RelayOutcome.Refusal(read.Error!, api.Format)).ConfigureAwait(false);
            return;
        }

        // :: Step 2 Forward it (limits, schedule, failover, relay, meter), or meter the refusal.
        var output = new HttpRelayOutput(context, time);
        RelayOutcome outcome;
        if (read.Request is { } request)
        {
            using (request)
            {
                // A full audit's bodies have a door of their own, known only once the key is: a slow blob store turns
                // away the keys that would add to its backlog, not every key.
                if (door.Refuses(request) is { } auditBacklogged)
                {
                    await ShedAsync(context, api, auditBacklogged).ConfigureAwait(false);
                    return;
                }

                outcome = await forwarder.RelayAsync(request, output, context.RequestAborted).ConfigureAwait(false);
            }
        }
        else
        {
            outcome = await forwarder.RefuseAsync(read.Key, api, read.Error!, read.Fault, output, hints.Model, FailedAuthThrottle.ClientOf(context)).ConfigureAwait(false);
        }

        // :: Step 3 Answer a failure in the client's shape (the one place outcomes become error responses).
        await RelayResults.WriteFailureAsync(context, api.Format, outcome).ConfigureAwait(false);
    }

    private static Task ShedAsync(HttpContext context, ClientApi api, RelayError error) =>
        RelayResults.WriteFailureAsync(context, api.Format, RelayOutcome.Refusal(error, api.Format));
}
