using System.Buffers;
using System.Text.Json;
using Serverless.Relay.Accounts;
using Serverless.Relay.Buffers;
using Serverless.Relay.Canonical;
using Serverless.Relay.Failover;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Relays a complete (non-streamed) answer in the client's format. A translated answer was read whole by the attempt
/// and is parsed; a same-format one is relayed as bytes, its rest (when longer than its head) as it arrives.
/// </summary>
internal static class AnswerRelay
{
    /// <returns>
    /// No error when the answer was written. Otherwise either nothing was written (the answer could not be read) or the
    /// answer broke off after its first byte: then the output has been cut and the end says how to mark the account.
    /// </returns>
    /// <param name="options">The longest wait for the next bytes of a long answer's rest (as for a stream's next event), and the bound of its metering copy.</param>
    public static async ValueTask<RelayEnd> RelayAsync(RelayRequest request, UpstreamAttempt attempt, IRelayOutput output, UsageTrace trace, RelayOptions options, CancellationToken cancellationToken)
    {
        if (attempt.Passthrough)
        {
            return attempt.BodyRest is { } rest
                ? await RelayLongAsync(attempt, rest, output, trace, options, cancellationToken).ConfigureAwait(false)
                : await RelayWholeAsync(attempt, output, trace, cancellationToken).ConfigureAwait(false);
        }

        if (attempt.BodyRest is not null)
        {
            // Read as far as RelayOptions.MaxAnswerBytes and no further: nothing was written, and the account is not marked.
            return new RelayEnd(new RelayError(ErrorKind.Upstream, "The upstream answer is longer than the relay reads to translate it (Relay__MaxAnswerBytes)."));
        }

        ChatResponse answer;
        try
        {
            using var document = JsonDocument.Parse(attempt.Body);
            var parsed = attempt.UpstreamFormat!.ReadResponse(document.RootElement);
            if (!parsed.IsSuccess)
            {
                return new RelayEnd(new RelayError(ErrorKind.Upstream, "The upstream answer could not be read: " + parsed.Error!.Message));
            }

            // The upstream's calls to a tool it got under another name go back under the name the client declared.
            answer = attempt.UpstreamFormat.ToolNames?.MapOf(request.Chat.Tools) is { } names ? names.Restore(parsed.Value!) : parsed.Value!;
        }
        catch (JsonException)
        {
            return new RelayEnd(new RelayError(ErrorKind.Upstream, "The upstream answer is not valid JSON."));
        }

        Meter(trace, AnswerMetering.Of(answer));
        trace.FirstByteSent();
        output.Start(200, "application/json", null, stream: false);
        using (var writer = new Utf8JsonWriter(output.Body, SseWriter.JsonWriterOptions))
        {
            request.Api.Format.WriteResponse(answer, request.Chat, writer);
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return default;
    }

    /// <summary>A same-format answer read whole: relayed as it came, even when the relay cannot read its usage.</summary>
    private static async ValueTask<RelayEnd> RelayWholeAsync(UpstreamAttempt attempt, IRelayOutput output, UsageTrace trace, CancellationToken cancellationToken)
    {
        var bytes = attempt.Body;
        Meter(trace, attempt.UpstreamFormat!.MeterResponse(bytes));
        trace.FirstByteSent();
        output.Start(attempt.Status, attempt.ContentType ?? "application/json", bytes.Length, stream: false);
        output.Body.Write(bytes.Span);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return default;
    }

    /// <summary>
    /// A same-format answer longer than its head: each read is sent on at once. Its usage comes after its content in
    /// every format, so it is metered once the answer is complete, from a <see cref="JsonSkeleton"/> of it: the answer
    /// without its long strings, bound as a translated answer is (<see cref="RelayOptions.MaxAnswerBytes"/>).
    /// </summary>
    private static async ValueTask<RelayEnd> RelayLongAsync(UpstreamAttempt attempt, Stream rest, IRelayOutput output, UsageTrace trace, RelayOptions options, CancellationToken cancellationToken)
    {
        var head = attempt.Body;
        var length = attempt.Response!.Content.Headers.ContentLength;

        using var skeleton = new JsonSkeleton(options.MaxAnswerBytes);
        skeleton.Append(head.Span);
        trace.FirstByteSent();
        output.Start(attempt.Status, attempt.ContentType ?? "application/json", length, stream: false);
        output.Body.Write(head.Span);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);

        var chunk = ArrayPool<byte>.Shared.Rent(AnswerBody.ChunkBytes);
        var relayed = (long)head.Length;
        using var idleTimer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        RelayEnd broken;
        try
        {
            while (true)
            {
                idleTimer.CancelAfter(options.StreamIdleTimeout);
                var read = await rest.ReadAsync(chunk, idleTimer.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                relayed += read;
                skeleton.Append(chunk.AsSpan(0, read));
                output.Body.Write(chunk.AsSpan(0, read));
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            // NOTE: an answer whose structure alone passes the bound is relayed unmetered, as an unreadable one is.
            Meter(trace, skeleton.Overflowed ? null : attempt.UpstreamFormat!.MeterResponse(skeleton.Written));
            return default;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            broken = new RelayEnd(new RelayError(ErrorKind.Timeout, $"The upstream answer stopped for {options.StreamIdleTimeout.TotalSeconds:0} s after {relayed} bytes."), FailureKind.Timeout);
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            broken = new RelayEnd(new RelayError(ErrorKind.Upstream, $"The upstream answer broke off after {relayed} bytes: {e.Message}"), FailureKind.Unreachable);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        // The status line and part of the body are out: only a cut connection tells the client the answer is not whole.
        output.Abort();
        return broken;
    }

    private static void Meter(UsageTrace trace, AnswerMetering? metering)
    {
        if (metering is { } read)
        {
            trace.Usage.Add(read.Usage);
            trace.StopReason = read.StopReason;
            trace.AnswerId = read.AnswerId;
        }
    }
}
