using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Relaying;

/// <summary>
/// <see cref="IRelay"/> over the same <see cref="RelayForwarder"/> as HTTP: the answer is written in the request's
/// client format to memory, then read back for its text (a stream's text deltas, or an answer's text parts).
/// </summary>
internal sealed class RelayInProcess(RelayForwarder forwarder, UsageDoor door, TimeProvider time) : IRelay
{
    public async Task<RelayResult> RelayAsync(RelayRequest request, CancellationToken cancellationToken)
    {
        // :: Step 1 The key, as HTTP authentication would check it.
        var key = request.Key;
        if (!key.Enabled || key.IsExpired(time.GetUtcNow()))
        {
            var error = new RelayError(ErrorKind.PermissionDenied, key.Enabled ? "This API key has expired." : "This API key is disabled.");
            return Refused(request, error);
        }

        // :: Step 2 Metering's doors, as HTTP's: an IM channel's messages add rows (and a full audit's bodies) too.
        if ((door.RefusesAny() ?? door.Refuses(request)) is { } backlogged)
        {
            return Refused(request, backlogged);
        }

        // :: Step 3 Forward it exactly as an HTTP request, into memory.
        var output = new BufferedRelayOutput();
        var outcome = await forwarder.RelayAsync(request, output, cancellationToken).ConfigureAwait(false);
        if (!outcome.IsSuccess)
        {
            return new RelayResult(outcome, null);
        }

        // :: Step 4 Read the answer's text back in the format it was written in.
        var format = request.Api.Format;
        var text = request.Head.Stream
            ? await StreamTextAsync(format, output.Written, cancellationToken).ConfigureAwait(false)
            : AnswerText(format, output.Written);
        return new RelayResult(outcome, text);
    }

    private static RelayResult Refused(RelayRequest request, RelayError error) =>
        new(RelayOutcome.Refusal(error, request.Api.Format), null);

    private static string AnswerText(IChatFormat format, ReadOnlyMemory<byte> written)
    {
        using var document = JsonDocument.Parse(written);
        var answer = format.ReadResponse(document.RootElement);
        var text = new StringBuilder();
        foreach (var part in answer.Value?.Content ?? [])
        {
            if (part is TextPart textPart)
            {
                text.Append(textPart.Text);
            }
        }

        return text.ToString();
    }

    private static async Task<string> StreamTextAsync(IChatFormat format, ReadOnlyMemory<byte> written, CancellationToken cancellationToken)
    {
        var decoder = format.CreateStreamDecoder();
        var events = new List<StreamEvent>();
        var text = new StringBuilder();
        // The relay wrote these events itself, each already within the bound the upstream's were read with.
        await using var reader = new SseReader(new MemoryStream(written.ToArray(), writable: false), long.MaxValue);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } sse)
        {
            events.Clear();
            decoder.Decode(sse, events);
            foreach (var streamEvent in events)
            {
                if (streamEvent is TextDelta delta)
                {
                    text.Append(delta.Text);
                }
            }
        }

        return text.ToString();
    }
}
