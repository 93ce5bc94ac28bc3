using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using Serverless.Relay.Buffers;

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
    private readonly long _maxEventBytes;
    private readonly PooledBufferWriter _raw = new(4096, StreamBuffers.Arrays);
    private readonly PooledBufferWriter _data = new(1024, StreamBuffers.Arrays);
    private string? _eventName;
    // Event names repeat all stream long: the last one is reused rather than made a string again.
    private byte[] _lastEventNameBytes = [];
    private string? _lastEventName;
    private bool _hasData;

    // The event last returned still lies in the buffers until the next read begins.
    private bool _dispatched;

    /// <param name="maxEventBytes">
    /// The longest event read; past it the read throws <see cref="SseEventTooLongException"/> rather than hold more.
    /// </param>
    public SseReader(Stream body, long maxEventBytes)
    {
        _maxEventBytes = maxEventBytes;
        _reader = PipeReader.Create(body, new StreamPipeReaderOptions(pool: StreamBuffers.Segments, bufferSize: StreamBuffers.LargestBytes, minimumReadSize: 4096, leaveOpen: true));
    }

    /// <summary>The raw bytes of the event last returned, including its terminating blank line; valid until the next read.</summary>
    public ReadOnlyMemory<byte> RawFrame => _raw.WrittenMemory;

    /// <summary>Returns the next event, or null at the end of the body. Its data is valid until the next read.</summary>
    /// <remarks>
    /// A read that waits for the upstream, as every read of a paced stream does, would otherwise allocate its state
    /// machine each time: a sixth of what a stream of events that arrive one by one allocated (bench/ANALYSIS.md,
    /// "Merged events: the client's, the collector's"). The pooled one requires awaiting the result once, as every
    /// caller does.
    /// </remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SseEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (TryTake(result, out var sseEvent))
            {
                return sseEvent;
            }
        }
    }

    /// <summary>
    /// Returns the next event without waiting, when it has arrived whole: true with the event, or with null at the end of
    /// the body; false when more must arrive first (what has arrived is kept, and the next read goes on from there).
    /// </summary>
    /// <remarks>Events the upstream sent together arrive together; a caller reads those without arming a timeout for each.</remarks>
    public bool TryReadBuffered(out SseEvent? sseEvent)
    {
        sseEvent = null;
        return _reader.TryRead(out var result) && TryTake(result, out sseEvent);
    }

    /// <summary>Takes the next event from what has arrived; false when it has not arrived whole.</summary>
    private bool TryTake(ReadResult result, out SseEvent? sseEvent)
    {
        if (_dispatched)
        {
            _raw.Clear();
            _data.Clear();
            _dispatched = false;
        }

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
                var lineStart = _raw.WrittenMemory.Length;
                foreach (var segment in lineWithEnding)
                {
                    _raw.Write(segment.Span);
                }

                ThrowIfLongerThanAllowed(0);
                if (line.IsEmpty)
                {
                    if (_hasData || _eventName is not null)
                    {
                        examined = consumed;
                        sseEvent = Dispatch();
                        return true;
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
                    // A last line without its line ending, or ending in the CR that was held back to see whether LF follows.
                    var lineStart = _raw.WrittenMemory.Length;
                    foreach (var segment in buffer)
                    {
                        _raw.Write(segment.Span);
                    }

                    var last = _raw.WrittenSpan[lineStart..];
                    if (last[^1] == (byte)'\r')
                    {
                        last = last[..^1];
                    }

                    if (!last.IsEmpty)
                    {
                        AcceptLine(last);
                    }
                }

                // NOTE: an event cut off before its blank line is still delivered: some servers close right after the last data line.
                sseEvent = _hasData || _eventName is not null ? Dispatch() : null;
                return true;
            }

            // What is left is a line still arriving: with the event's lines before it, as much as the event holds so far.
            ThrowIfLongerThanAllowed(buffer.Length);
            sseEvent = null;
            return false;
        }
        finally
        {
            _reader.AdvanceTo(consumed, examined);
        }
    }

    /// <summary>Ends the read and gives the buffers back: no event read from this reader may be used after it.</summary>
    public ValueTask DisposeAsync()
    {
        _raw.Dispose();
        _data.Dispose();
        return _reader.CompleteAsync();
    }

    private void ThrowIfLongerThanAllowed(long arriving)
    {
        if (_raw.WrittenMemory.Length + arriving > _maxEventBytes)
        {
            throw new SseEventTooLongException(_maxEventBytes);
        }
    }

    private SseEvent Dispatch()
    {
        var result = new SseEvent(_eventName, _data.WrittenMemory);
        _eventName = null;
        _hasData = false;
        _dispatched = true;
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
        line = default;
        lineWithEnding = default;
        if (!TryFindLineEnd(buffer, out var length, out var lengthWithEnding))
        {
            return false;
        }

        line = buffer.Slice(0, length);
        lineWithEnding = buffer.Slice(0, lengthWithEnding);
        buffer = buffer.Slice(lengthWithEnding);
        return true;
    }

    /// <summary>Where the first line ends: CR LF, LF, or a CR known not to be followed by LF.</summary>
    private static bool TryFindLineEnd(in ReadOnlySequence<byte> buffer, out long length, out long lengthWithEnding)
    {
        // NOTE: most reads hold whole events in one segment, searched as a span; with a sequence reader per line, finding
        // lines was a quarter of reading a stream (bench/ANALYSIS.md, "Reading a stream's events, and the audit digest's hash").
        if (buffer.IsSingleSegment)
        {
            var span = buffer.FirstSpan;
            var at = span.IndexOfAny((byte)'\r', (byte)'\n');
            (length, lengthWithEnding) = (at, at + 1);
            if (at < 0 || (span[at] == (byte)'\r' && at + 1 == span.Length))
            {
                // No line ending yet, or CR at the end of what has arrived: wait to see whether LF follows.
                return false;
            }

            if (span[at] == (byte)'\r' && span[at + 1] == (byte)'\n')
            {
                lengthWithEnding++;
            }

            return true;
        }

        var reader = new SequenceReader<byte>(buffer);
        length = lengthWithEnding = 0;
        if (!reader.TryAdvanceToAny("\r\n"u8, advancePastDelimiter: false))
        {
            return false;
        }

        length = reader.Consumed;
        reader.TryRead(out var delimiter);
        if (delimiter == (byte)'\r')
        {
            if (reader.End)
            {
                return false;
            }

            if (reader.TryPeek(out var next) && next == (byte)'\n')
            {
                reader.Advance(1);
            }
        }

        lengthWithEnding = reader.Consumed;
        return true;
    }
}

/// <summary>An upstream stream's event past <see cref="SseReader"/>'s bound: the relay reads no more of it.</summary>
internal sealed class SseEventTooLongException(long maxBytes)
    : IOException($"An event of the upstream stream is longer than the relay reads ({maxBytes} bytes, Relay__MaxAnswerBytes).");
