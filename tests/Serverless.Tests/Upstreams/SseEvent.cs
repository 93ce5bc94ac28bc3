using System.Text.Json.Nodes;
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
        try
        {
            foreach (var sseEvent in events)
            {
                await SendAsync(sseEvent);
                if (script.BreakAfterEvents is { } breakAfter && sent >= breakAfter)
                {
                    // Mid-stream death of the upstream: the client sees a reset, not a clean end of the body.
                    context.Abort();
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

            var text = sseEvent.Name is null
                ? $"data: {sseEvent.Data}{separator}"
                : $"event: {sseEvent.Name}\ndata: {sseEvent.Data}{separator}";
            await context.Response.WriteAsync(text, cancellationToken);
            await context.Response.Body.FlushAsync(cancellationToken);
            sent++;
        }
    }
}
