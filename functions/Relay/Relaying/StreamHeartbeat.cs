using System.Buffers;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Keeps a streamed request alive while it waits for the upstream's first event: after every
/// <see cref="RelayOptions.StreamHeartbeatInterval"/> with nothing sent, it writes a few bytes every client ignores, so
/// Azure's front end (which drops a response not started within 230 s) and the Functions host's proxy (240 s idle) keep
/// the connection. A quick answer sends none. The first one commits the 200 and the stream's headers: from then on a
/// failure can only travel as an error event (<see cref="StreamRelay.WriteErrorAsync"/>).
/// </summary>
/// <remarks>
/// The beats run on their own task, but never at the same time as the request's writes: whoever writes next calls
/// <see cref="StopAsync"/> first, which waits for a beat in progress. Bytes, checked against the official parsers:
/// an SSE comment line (<c>: keep-alive</c>) is skipped by the OpenAI and Anthropic SDKs' decoders and by
/// System.Net.ServerSentEvents (the OpenAI .NET SDK); but Google's Python SDK (google-genai) takes every non-blank
/// line that is not <c>data:</c> for JSON and fails on a comment. So Gemini clients get a blank line instead, which
/// every SSE parser skips (nothing to dispatch) and which is whitespace before the array of the JSON-array framing.
/// </remarks>
internal sealed class StreamHeartbeat : IAsyncDisposable
{
    // NOTE: stopped by disposing the timer, whose pending wait then returns false. Cancelling the wait with a token
    // instead threw (and caught) an OperationCanceledException with its stack trace on every stream: 5 % of a relayed
    // stream's CPU.
    private readonly PeriodicTimer _timer;
    private readonly IRelayOutput _output;
    private readonly string _contentType;
    private readonly byte[] _beat;
    private readonly Task _beating;
    private volatile bool _stopped;

    private StreamHeartbeat(IRelayOutput output, RelayRequest request, TimeSpan interval, TimeProvider time, CancellationToken clientAborted)
    {
        _output = output;
        _contentType = StreamRelay.ContentTypeOf(request);
        _beat = request.Api.Format.Format == WireFormat.Gemini || request.Framing == StreamFraming.JsonArray ? "\n"u8.ToArray() : ": keep-alive\n\n"u8.ToArray();
        _timer = new PeriodicTimer(interval, time);
        _beating = BeatAsync(clientAborted);
    }

    /// <summary>Beats sent so far (read once stopped).</summary>
    public int Beats { get; private set; }

    /// <summary>Starts beating for a streamed request to a client over the network; null when there is nothing to keep alive.</summary>
    public static StreamHeartbeat? Start(RelayRequest request, IRelayOutput output, TimeSpan interval, TimeProvider time, CancellationToken clientAborted) =>
        request.Head.Stream && output.NeedsKeepAlive ? new StreamHeartbeat(output, request, interval, time, clientAborted) : null;

    /// <summary>Stops the beats and waits for one in progress; the output is the caller's again. Idempotent.</summary>
    public ValueTask StopAsync()
    {
        _stopped = true;
        _timer.Dispose();
        return new ValueTask(_beating);
    }

    public ValueTask DisposeAsync() => StopAsync();

    private async Task BeatAsync(CancellationToken clientAborted)
    {
        try
        {
            // NOTE: a tick that raced the stop is not a beat: the output is the caller's once StopAsync is called.
            while (await _timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false) && !_stopped)
            {
                if (!_output.Started)
                {
                    _output.Start(200, _contentType, null, stream: true);
                }

                _output.Body.Write(_beat);
                Beats++;
                await _output.FlushAsync(clientAborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The client left (the request path notices that on its own).
        }
        catch (IOException)
        {
            // The client's connection broke; the request path notices that on its own.
        }
    }
}
