using System.Text;
using System.Threading.Channels;
using Serverless.Relay.Formats.Sse;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Formats.Sse;

public sealed class SseReaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>A body whose bytes arrive in the pieces a test hands it, when it hands them.</summary>
    private sealed class PiecewiseStream : Stream
    {
        private readonly Channel<byte[]> _pieces = Channel.CreateUnbounded<byte[]>();
        private byte[] _current = [];
        private int _offset;
        private int _starved;

        /// <summary>True once a read has found every piece sent so far consumed and waits for the next.</summary>
        public bool Starved => Volatile.Read(ref _starved) == 1;

        public void Send(string text) => _pieces.Writer.TryWrite(Encoding.UTF8.GetBytes(text));

        public void End() => _pieces.Writer.TryComplete();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_offset == _current.Length)
            {
                if (!_pieces.Reader.TryPeek(out _))
                {
                    Volatile.Write(ref _starved, 1);
                }

                if (!await _pieces.Reader.WaitToReadAsync(cancellationToken) || !_pieces.Reader.TryRead(out var next))
                {
                    return 0;
                }

                (_current, _offset) = (next, 0);
            }

            var count = Math.Min(buffer.Length, _current.Length - _offset);
            _current.AsMemory(_offset, count).CopyTo(buffer);
            _offset += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task<List<(SseEvent Event, string Raw)>> ReadAllAsync(string body)
    {
        var stream = new PiecewiseStream();
        stream.Send(body);
        stream.End();
        await using var reader = new SseReader(stream);
        var events = new List<(SseEvent, string)>();
        while (await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout) is { } next)
        {
            events.Add((next, Encoding.UTF8.GetString(reader.RawFrame.Span)));
        }

        return events;
    }

    [Fact]
    public async Task ReadAsync_NamedAndUnnamedEvents_ParsedWithRawFrames()
    {
        var events = await ReadAllAsync("event: message_start\ndata: {\"a\":1}\n\ndata: [DONE]\n\n");

        Assert.Equal(2, events.Count);
        Assert.Equal(new SseEvent("message_start", "{\"a\":1}"), events[0].Event);
        Assert.Equal("event: message_start\ndata: {\"a\":1}\n\n", events[0].Raw);
        Assert.Equal(new SseEvent(null, "[DONE]"), events[1].Event);
        Assert.Equal("data: [DONE]\n\n", events[1].Raw);
    }

    [Fact]
    public async Task ReadAsync_CrLfLinesCommentsAndMultilineData_FollowTheSseRules()
    {
        var events = await ReadAllAsync(": keep-alive\r\n\r\ndata: line one\r\ndata: line two\r\nid: 7\r\n\r\ndata:nospace\n\n");

        Assert.Equal([new SseEvent(null, "line one\nline two"), new SseEvent(null, "nospace")], events.Select(e => e.Event));
    }

    [Fact]
    public async Task ReadAsync_LastEventWithoutBlankLine_StillDelivered()
    {
        var events = await ReadAllAsync("data: {\"end\":true}");

        Assert.Equal(new SseEvent(null, "{\"end\":true}"), Assert.Single(events).Event);
    }

    [Fact]
    public async Task ReadAsync_EventSplitAcrossReads_WaitsForItsEnd()
    {
        var stream = new PiecewiseStream();
        await using var reader = new SseReader(stream);
        stream.Send("data: {\"te");
        var pending = reader.ReadAsync(CancellationToken.None).AsTask();
        await Eventually.ValueAsync("the reader waiting for the rest of the event", _ => Task.FromResult(stream.Starved), starved => starved);
        Assert.False(pending.IsCompleted);

        stream.Send("xt\":\"hi\"}\r");
        stream.Send("\n\r\n");

        Assert.Equal(new SseEvent(null, "{\"text\":\"hi\"}"), await pending.WaitAsync(Timeout, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ReadAsync_SeveralEventsInOneRead_ReturnsEachWithoutWaitingForMoreBytes()
    {
        var stream = new PiecewiseStream();
        await using var reader = new SseReader(stream);
        stream.Send("data: 1\n\ndata: 2\n\ndata: 3\n\n");

        // The body stays open: a reader that waited for new bytes before returning buffered events would hang here.
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("1", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Data);
        Assert.Equal("2", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Data);
        Assert.Equal("3", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Data);
        stream.End();
        Assert.Null(await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct));
    }
}
