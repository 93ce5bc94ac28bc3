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
/// read its head in the client API's format. Every failure is a value.
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

        // Only the head is read here unless the caller reads the canonical request its own way (token counting): the
        // rest is read when something needs it (RelayRequest.ReadChat), and a same-format relay may never.
        Result<RequestHead> head;
        Result<ChatRequest>? parsed = null;
        try
        {
            if (read is null)
            {
                head = api.Format.ReadHead(document.RootElement, hints.Model, hints.Stream);
            }
            else
            {
                parsed = read(document.RootElement, hints);
                head = parsed.Value.Value is { } chat ? RequestHead.Of(chat) : parsed.Value.Error!;
            }
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

        if (!head.IsSuccess)
        {
            document.Dispose();
            body.Dispose();
            return new RequestRead(key, null, head.Error);
        }

        var request = new RelayRequest(key, api, head.Value!, parsed, body, document)
        {
            Framing = hints.Framing,
            SessionHint = SessionKey.ClientHint(context.Request.Headers, document.RootElement),
            ClientHeaders = context.Request.Headers,
            ClientAddress = FailedAuthThrottle.ClientOf(context),
        };
        return new RequestRead(key, request, null);
    }
}
