using System.Text.Json.Nodes;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Serverless.Tests.Upstreams;

/// <summary>One server-sent event; <see cref="IsContent"/> marks events carrying model output (text or tool call).</summary>
internal sealed record SseEvent(string? Name, string Data, bool IsContent = false)
{
    public static SseEvent Of(string? name, JsonNode data, bool isContent = false) => new(name, WireJson.Write(data), isContent);
}

/// <summary>Writes a stream the way the real APIs do: one flush per event, honouring the script's delay and faults.</summary>
internal static class SseStream
{
    /// <param name="errorEvent">Builds the format's in-stream error event; gets the number of events already sent.</param>
    /// <param name="separator">"\n\n" for OpenAI and Anthropic; Gemini ends each event with "\r\n\r\n".</param>
    public static async Task WriteAsync(
        HttpContext context, IReadOnlyList<SseEvent> events, Func<string, int, SseEvent> errorEvent, UpstreamScript script, string separator = "\n\n")
    {
        var cancellationToken = context.RequestAborted;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        var sent = 0;
        var contentSent = 0;
        try
        {
            foreach (var sseEvent in events)
            {
                await SendAsync(sseEvent);
                if (script.BreakAfterEvents is { } breakAfter && sent >= breakAfter)
                {
                    await BreakConnectionAsync(context);
                    return;
                }

                if (script.ErrorEventAfter is { } message && sseEvent.IsContent)
                {
                    await SendAsync(errorEvent(message, sent));
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && cancellationToken.IsCancellationRequested)
        {
            // The client went away; nothing left to do.
        }

        async Task SendAsync(SseEvent sseEvent)
        {
            if (sent > 0 && script.EventDelay > TimeSpan.Zero)
            {
                await Task.Delay(script.EventDelay, cancellationToken);
            }

            if (sseEvent.IsContent && script.BeforeContentEvent is { } gate)
            {
                await gate(contentSent, cancellationToken);
                contentSent++;
            }

            var text = sseEvent.Name is null
                ? $"data: {sseEvent.Data}{separator}"
                : $"event: {sseEvent.Name}\ndata: {sseEvent.Data}{separator}";
            await context.Response.WriteAsync(text, cancellationToken);
            await context.Response.Body.FlushAsync(cancellationToken);
            sent++;
        }
    }

    /// <summary>
    /// Mid-stream death of the upstream: the client gets the events already sent, then the body ends without its
    /// terminating chunk (an IOException on read), never a clean end of stream.
    /// </summary>
    private static async Task BreakConnectionAsync(HttpContext context)
    {
        // NOTE: an abort alone sends RST, and Linux drops received-but-unread bytes on RST, so the client could lose
        // the events it was promised. Give the transport time to write them, then close our side (FIN) before aborting.
        await Task.Delay(TimeSpan.FromMilliseconds(50), context.RequestAborted);
        context.Features.Get<IConnectionSocketFeature>()?.Socket.Shutdown(SocketShutdown.Send);
        await Task.Delay(TimeSpan.FromMilliseconds(50), context.RequestAborted);
        context.Abort();
    }
}
