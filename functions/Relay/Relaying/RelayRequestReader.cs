using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;
using Serverless.Relay.Sessions;

namespace Serverless.Relay.Relaying;

/// <summary>Parses a client body into the canonical request; a client API whose body differs per route (token counting) passes its own.</summary>
internal delegate Result<ChatRequest> CanonicalReader(JsonElement body, RouteHints hints);

/// <summary>What reading an HTTP request gave: the key (null when authentication failed) and the request or the error to answer.</summary>
/// <param name="Fault">A bug met while reading (e.g. a format reader threw): answered as a 500 and recorded like any other request.</param>
internal readonly record struct RequestRead(ClientKey? Key, RelayRequest? Request, RelayError? Error, Exception? Fault = null);

/// <summary>
/// Builds a <see cref="RelayRequest"/> from HTTP, in one step: authenticate the key, read the body, parse the JSON and
/// read it in the client API's format. Every failure is a value.
/// </summary>
/// <remarks>
/// The body is held from here on: every failure below disposes it, and a built request owns it (see
/// <see cref="RelayRequest"/>), so its buffer and its share of <see cref="InFlightBodies"/> come back however the
/// request ends.
/// </remarks>
internal sealed class RelayRequestReader(ClientAuthenticator authenticator, InFlightBodies inFlight)
{
    public async ValueTask<RequestRead> ReadAsync(HttpContext context, ClientApi api, RouteHints hints, CanonicalReader? read = null)
    {
        var cancellationToken = context.RequestAborted;
        var (key, authError) = await authenticator.AuthenticateAsync(context.Request, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            return new RequestRead(null, null, authError);
        }

        var (body, bodyError) = await RequestBody.ReadAsync(context.Request, inFlight, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return new RequestRead(key, null, bodyError);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.Memory);
        }
        catch (JsonException e)
        {
            body.Dispose();
            return new RequestRead(key, null, RelayError.Invalid($"Request body is not valid JSON: {e.Message}"));
        }

        Result<ChatRequest> parsed;
        try
        {
            parsed = read is null ? api.Format.ReadRequest(document.RootElement, hints.Model, hints.Stream) : read(document.RootElement, hints);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            document.Dispose();
            body.Dispose();
            return new RequestRead(key, null, RelayOutcome.InternalError, e);
        }
        catch
        {
            document.Dispose();
            body.Dispose();
            throw;
        }

        if (!parsed.IsSuccess)
        {
            document.Dispose();
            body.Dispose();
            return new RequestRead(key, null, parsed.Error);
        }

        var request = new RelayRequest(key, api, parsed.Value!, body, document)
        {
            Framing = hints.Framing,
            SessionHint = SessionKey.ClientHint(context.Request.Headers, document.RootElement),
            ClientHeaders = context.Request.Headers,
            ClientAddress = FailedAuthThrottle.ClientOf(context),
        };
        return new RequestRead(key, request, null);
    }
}
