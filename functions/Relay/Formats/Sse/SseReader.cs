using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Serverless.Relay.Formats.Sse;

/// <summary>
/// Reads server-sent events from an upstream body as they arrive, one event per call, without waiting for more
/// than the event needs. Each event comes with its raw bytes so a same-format relay can forward it unchanged.
/// Lines may end in LF, CR LF (Gemini) or CR; comments (<c>:</c>) are skipped but kept in the raw frame.
/// An event's data stays UTF-8 in a buffer reused from event to event (a stream is hundreds of events; a string per
/// line and per event was a third of a relayed stream's allocations).
/// </summary>
internal sealed class SseReader : IAsyncDisposable
{
    private readonly PipeReader _reader;
    private readonly ArrayBufferWriter<byte> _raw = new(4096);
    private readonly ArrayBufferWriter<byte> _data = new(1024);
    private string? _eventName;
    // Event names repeat all stream long: the last one is reused rather than made a string again.
    private byte[] _lastEventNameBytes = [];
    private string? _lastEventName;
    private bool _hasData;

    public SseReader(Stream body)
    {
        _reader = PipeReader.Create(body, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true));
    }

    /// <summary>The raw bytes of the event last returned, including its terminating blank line; valid until the next read.</summary>
    public ReadOnlyMemory<byte> RawFrame => _raw.WrittenMemory;

    /// <summary>Returns the next event, or null at the end of the body. Its data is valid until the next read.</summary>
    public async ValueTask<SseEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        _raw.ResetWrittenCount();
        _data.ResetWrittenCount();
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var consumed = buffer.Start;

            // Everything is examined only when no complete event is left in it; after returning an event, the next read
            // must not wait for new bytes while whole events are still buffered.
            var examined = buffer.End;
            try
            {
                while (TryReadLine(ref buffer, out var line, out var lineWithEnding))
                {
                    consumed = buffer.Start;
                    var lineStart = _raw.WrittenCount;
                    foreach (var segment in lineWithEnding)
                    {
                        _raw.Write(segment.Span);
                    }

                    if (line.IsEmpty)
                    {
                        if (_hasData || _eventName is not null)
                        {
                            examined = consumed;
                            return Dispatch();
                        }

                        continue;
                    }

                    // The line is read where the raw frame already holds it, contiguous whatever the pipe's segments.
                    AcceptLine(_raw.WrittenSpan.Slice(lineStart, (int)line.Length));
                }

                if (result.IsCompleted)
                {
                    consumed = buffer.End;
                    if (!buffer.IsEmpty)
                    {
                        // A last line without its line ending.
                        var lineStart = _raw.WrittenCount;
                        foreach (var segment in buffer)
                        {
                            _raw.Write(segment.Span);
                        }

                        AcceptLine(_raw.WrittenSpan[lineStart..]);
                    }

                    // NOTE: an event cut off before its blank line is still delivered: some servers close right after the last data line.
                    return _hasData || _eventName is not null ? Dispatch() : null;
                }
            }
            finally
            {
                _reader.AdvanceTo(consumed, examined);
            }
        }
    }

    public ValueTask DisposeAsync() => _reader.CompleteAsync();

    private SseEvent Dispatch()
    {
        var result = new SseEvent(_eventName, _data.WrittenMemory);
        _eventName = null;
        _hasData = false;
        return result;
    }

    private void AcceptLine(ReadOnlySpan<byte> span)
    {
        if (span[0] == (byte)':')
        {
            return;
        }

        var colon = span.IndexOf((byte)':');
        var field = colon < 0 ? span : span[..colon];
        var value = colon < 0 ? [] : span[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                _data.Write("\n"u8);
            }

            _data.Write(value);
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            if (_lastEventName is null || !value.SequenceEqual(_lastEventNameBytes))
            {
                _lastEventNameBytes = value.ToArray();
                _lastEventName = Encoding.UTF8.GetString(value);
            }

            _eventName = _lastEventName;
        }
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line, out ReadOnlySequence<byte> lineWithEnding)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryAdvanceToAny("\r\n"u8, advancePastDelimiter: false))
        {
            line = default;
            lineWithEnding = default;
            return false;
        }

        var end = reader.Position;
        reader.TryRead(out var delimiter);
        if (delimiter == (byte)'\r')
        {
            if (reader.End)
            {
                // CR at the end of what has arrived: wait to see whether LF follows.
                line = default;
                lineWithEnding = default;
                return false;
            }

            if (reader.TryPeek(out var next) && next == (byte)'\n')
            {
                reader.Advance(1);
            }
        }

        line = buffer.Slice(0, end);
        lineWithEnding = buffer.Slice(0, reader.Position);
        buffer = buffer.Slice(reader.Position);
        return true;
    }
}
