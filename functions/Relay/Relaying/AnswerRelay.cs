using System.Buffers;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Failover;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Relaying;

/// <summary>Relays a complete (non-streamed) answer, already read whole by the attempt, in the client's format.</summary>
internal static class AnswerRelay
{
    /// <returns>Null when the answer was written; else why it could not be (nothing has been written then).</returns>
    public static async ValueTask<RelayError?> RelayAsync(RelayRequest request, UpstreamAttempt attempt, IRelayOutput output, UsageTrace trace, CancellationToken cancellationToken)
    {
        var bytes = attempt.Body;
        if (attempt.Passthrough)
        {
            // A same-format answer is relayed as it came, even when the relay cannot read its usage; only what metering
            // needs is read from it.
            if (attempt.UpstreamFormat!.MeterResponse(bytes) is { } metering)
            {
                Meter(trace, metering);
            }

            trace.FirstByteSent();
            var response = attempt.Response!;
            output.Start((int)response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "application/json", bytes.Length, stream: false);
            output.Body.Write(bytes.Span);
        }
        else
        {
            ChatResponse answer;
            try
            {
                using var document = JsonDocument.Parse(bytes);
                var parsed = attempt.UpstreamFormat!.ReadResponse(document.RootElement);
                if (!parsed.IsSuccess)
                {
                    return new RelayError(ErrorKind.Upstream, "The upstream answer could not be read: " + parsed.Error!.Message);
                }

                answer = parsed.Value!;
            }
            catch (JsonException)
            {
                return new RelayError(ErrorKind.Upstream, "The upstream answer is not valid JSON.");
            }

            Meter(trace, AnswerMetering.Of(answer));
            trace.FirstByteSent();
            output.Start(200, "application/json", null, stream: false);
            using var writer = new Utf8JsonWriter(output.Body, SseWriter.JsonWriterOptions);
            request.Api.Format.WriteResponse(answer, writer);
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    private static void Meter(UsageTrace trace, AnswerMetering metering)
    {
        trace.Usage.Add(metering.Usage);
        trace.StopReason = metering.StopReason;
    }
}
