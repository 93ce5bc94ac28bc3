using Microsoft.AspNetCore.Http;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Relaying;

/// <summary>The HTTP entry of the chat APIs: builds the <see cref="RelayRequest"/>, forwards it, answers any failure.</summary>
internal sealed class HttpRelay(RelayRequestReader reader, RelayForwarder forwarder, TimeProvider time)
{
    public async Task RelayAsync(HttpContext context, ClientApi api, RouteHints hints)
    {
        // :: Step 1 Build the request once: key, body, JSON, the client API's format and hints.
        var read = await reader.ReadAsync(context, api, hints).ConfigureAwait(false);
        if (read.Key is null)
        {
            await RelayResults.WriteFailureAsync(context, api.Format, RelayOutcome.Refusal(read.Error!, api.Format.StatusCodeOf(read.Error!))).ConfigureAwait(false);
            return;
        }

        // :: Step 2 Forward it (limits, schedule, failover, relay, meter), or meter the refusal.
        var output = new HttpRelayOutput(context, time);
        RelayOutcome outcome;
        if (read.Request is { } request)
        {
            using (request)
            {
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
}
