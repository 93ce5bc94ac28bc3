using System.Buffers;
using System.Runtime.CompilerServices;
using Serverless.Relay.Accounts;
using Serverless.Relay.Buffers;
using Serverless.Relay.Canonical;
using Serverless.Relay.Failover;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The stream copier (YARP's <c>StreamCopier</c>): relays a stream event by event. Each upstream event is decoded (for
/// usage, and for translation), written in the client's format and flushed before the relay waits for the next, so
/// nothing is held back. The idle timeout bounds each wait for the upstream; there is no total one.
/// </summary>
internal static class StreamRelay
{
    /// <summary>The batch's first buffer: a dozen chat chunks. An upstream's pace is a few events between flushes.</summary>
    private const int BatchBytes = 4 * 1024;

    /// <summary>
    /// A batch this full goes to the output before the flush, so a burst (a whole answer sent at once) neither grows
    /// it without bound nor holds more than this per stream in flight.
    /// </summary>
    private const int MaxBatchBytes = 16 * 1024;

    /// <summary>The content type of the client's stream.</summary>
    public static string ContentTypeOf(RelayRequest request) =>
        request.Framing == StreamFraming.JsonArray ? "application/json; charset=utf-8" : "text/event-stream; charset=utf-8";

    /// <param name="heartbeat">Still beating while the first event is awaited; stopped before anything is written.</param>
    /// <param name="options">The idle timeout (<see cref="RelayOptions.StreamIdleTimeout"/>) and the longest event read (<see cref="RelayOptions.MaxAnswerBytes"/>).</param>
    public static async ValueTask<RelayEnd> RelayAsync(RelayRequest request, UpstreamAttempt attempt, IRelayOutput output, UsageTrace trace, RelayOptions options, StreamHeartbeat? heartbeat, CancellationToken clientAborted)
    {
        var idle = options.StreamIdleTimeout;
        var api = request.Api;
        var passthrough = attempt.Passthrough;
        var hideUsageChunk = passthrough && PassthroughTransform.HidesUsageChunk(request);
        var jsonArray = request.Framing == StreamFraming.JsonArray;

        // Events are written into a batch that goes to the output once per flush, not once per event: the output's
        // writer takes a lock and the audit digest calls into OpenSSL on every write (bench/ANALYSIS.md, "A stream's
        // events handed on in batches").
        using var batch = new PooledBufferWriter(BatchBytes, StreamBuffers.Arrays);
        var array = jsonArray ? new JsonArrayFraming(batch) : null;
        IBufferWriter<byte> body = array is null ? batch : array;
        var decoder = attempt.UpstreamFormat!.CreateStreamDecoder();
        var encoder = passthrough ? null : api.Format.CreateStreamEncoder(request.Chat);
        // The upstream's calls to a tool it got under another name go back under the name the client declared.
        var toolNames = passthrough ? null : attempt.UpstreamFormat.ToolNames?.MapOf(request.Chat.Tools);
        var events = new List<StreamEvent>(8);
        RelayError? failure = null;
        FailureKind? broken = null;

        using var idleTimer = CancellationTokenSource.CreateLinkedTokenSource(clientAborted);
        await using var upstream = await attempt.Response!.Content.ReadAsStreamAsync(clientAborted).ConfigureAwait(false);
        await using var reader = new SseReader(upstream, options.MaxAnswerBytes);
        var unflushed = false;
        try
        {
            while (failure is null)
            {
                // What is written goes out before the relay waits for the upstream, so no event waits for the next one;
                // events the upstream sent together (already buffered) go out in one flush. A flush per event was a
                // write to the socket per event (issue 11). The idle timeout is armed only when the relay waits: an
                // event already buffered has arrived (re-arming the timer per event was 1.4 % of a stream's CPU).
                if (!reader.TryReadBuffered(out var sse))
                {
                    idleTimer.CancelAfter(idle);
                    var next = reader.ReadAsync(idleTimer.Token);
                    sse = unflushed && !next.IsCompleted ? await FlushWhileReadingAsync(next).ConfigureAwait(false) : await next.ConfigureAwait(false);
                }

                if (heartbeat is not null || !output.Started)
                {
                    await TakeOutputAsync().ConfigureAwait(false);
                }

                events.Clear();
                if (sse is null)
                {
                    failure = decoder.Complete(events);
                    WriteEvents(events, encoder, toolNames, body);
                    break;
                }

                // A same-format stream is forwarded as it came: only what metering needs is decoded.
                failure = passthrough ? decoder.Meter(sse.Value, events) : decoder.Decode(sse.Value, events);
                var usageOnly = AccumulateUsage(events, trace);
                if (passthrough)
                {
                    // The relay asked for usage the client did not: that chunk is the relay's, not the client's.
                    if (!(hideUsageChunk && usageOnly))
                    {
                        body.Write(reader.RawFrame.Span);
                    }

                    if (failure is not null)
                    {
                        // The upstream's own error event, already in the client's format, has been relayed.
                        array?.Complete();
                        trace.FirstByteSent();
                        await SendAsync().ConfigureAwait(false);
                        return new RelayEnd(failure, null, UpstreamErrorRelayed: true);
                    }
                }
                else
                {
                    WriteEvents(events, encoder, toolNames, body);
                }

                trace.FirstByteSent();
                array?.Commit();
                unflushed = true;
                if (batch.WrittenMemory.Length >= MaxBatchBytes)
                {
                    HandOver();
                }
            }
        }
        catch (OperationCanceledException) when (!clientAborted.IsCancellationRequested)
        {
            failure = new RelayError(ErrorKind.Timeout, $"The upstream stream sent nothing for {idle.TotalSeconds:0} s.");
            broken = FailureKind.Timeout;
        }
        catch (SseEventTooLongException e)
        {
            // The relay's bound, as for a translated answer: the stream is cut, the account not marked.
            failure = new RelayError(ErrorKind.Upstream, e.Message);
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !clientAborted.IsCancellationRequested)
        {
            failure = new RelayError(ErrorKind.Upstream, "The upstream stream broke off: " + e.Message);
            broken = FailureKind.Unreachable;
        }

        await TakeOutputAsync().ConfigureAwait(false);
        if (failure is null)
        {
            if (array is not null)
            {
                array.Complete();
                await SendAsync().ConfigureAwait(false);
            }
            else
            {
                // The response's own end sends what is left.
                HandOver();
            }

            return default;
        }

        // After the first byte there is no status code left to set: the stream ends with an error event in the client's
        // format. A passthrough stream has no encoder of its own; the format continues what the upstream sent (e.g. the
        // Responses API's sequence_number) rather than starting a new stream.
        (encoder ?? api.Format.CreateStreamEncoderAfter(decoder, request.ChatOrHead())).WriteError(failure, body);
        array?.Complete();
        trace.FirstByteSent();
        await SendAsync().ConfigureAwait(false);
        return new RelayEnd(failure, broken, UpstreamErrorRelayed: false);

        // Every flush sends the batch first: a flush without it would leave events waiting in the relay.
        ValueTask SendAsync()
        {
            HandOver();
            return output.FlushAsync(clientAborted);
        }

        void HandOver()
        {
            if (batch.WrittenMemory.Length > 0)
            {
                output.Body.Write(batch.WrittenMemory.Span);
                batch.Clear();
            }
        }

        // The flush runs while the next read waits for the upstream. If the flush fails (the client left), the read is
        // cancelled and awaited before the failure goes on, so the reader is never disposed under a pending read.
        // Pooled: this runs once per event of a stream whose events arrive one by one, and its state machine was a
        // quarter of what such a stream allocated.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        async ValueTask<SseEvent?> FlushWhileReadingAsync(ValueTask<SseEvent?> read)
        {
            unflushed = false;
            try
            {
                await SendAsync().ConfigureAwait(false);
            }
            catch
            {
                await idleTimer.CancelAsync().ConfigureAwait(false);
                try
                {
                    await read.ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
                {
                    // The read's own end, after the client's: the flush's failure is the one that counts.
                }

                throw;
            }

            return await read.ConfigureAwait(false);
        }

        // The first write: the heartbeat stops (it may have started the response already), then the stream starts.
        async ValueTask TakeOutputAsync()
        {
            if (heartbeat is not null)
            {
                await heartbeat.StopAsync().ConfigureAwait(false);
                heartbeat = null;
            }

            if (!output.Started)
            {
                output.Start(200, ContentTypeOf(request), null, stream: true);
            }
        }
    }

    /// <summary>
    /// Ends a stream that a heartbeat started, before any upstream event, with the request's failure as an error event
    /// in the client's format: the same ending as a stream broken after its first byte.
    /// </summary>
    public static async ValueTask WriteErrorAsync(RelayRequest request, IRelayOutput output, RelayError error, CancellationToken clientAborted)
    {
        var array = request.Framing == StreamFraming.JsonArray ? new JsonArrayFraming(output.Body) : null;
        request.Api.Format.CreateStreamEncoder(request.ChatOrHead()).WriteError(error, array is null ? output.Body : array);
        array?.Complete();
        await output.FlushAsync(clientAborted).ConfigureAwait(false);
    }

    private static void WriteEvents(List<StreamEvent> events, IStreamEncoder? encoder, ToolNameMap? toolNames, IBufferWriter<byte> output)
    {
        if (encoder is null)
        {
            return;
        }

        toolNames?.Restore(events);

        foreach (var streamEvent in events)
        {
            encoder.Write(streamEvent, output);
        }
    }

    /// <summary>Feeds usage, the finish reason and the answer's id to the trace; true when the event carried nothing but usage.</summary>
    private static bool AccumulateUsage(List<StreamEvent> events, UsageTrace trace)
    {
        var usageOnly = events.Count > 0;
        foreach (var streamEvent in events)
        {
            if (streamEvent is UsageReported reported)
            {
                trace.Usage.Add(reported.Usage);
                continue;
            }

            if (streamEvent is MessageFinished finished)
            {
                trace.StopReason = finished.StopReason;
            }
            else if (streamEvent is MessageStarted started)
            {
                trace.AnswerId = started.Id;
            }

            usageOnly = false;
        }

        return usageOnly;
    }
}
