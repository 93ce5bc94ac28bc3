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

    /// <summary>Every event's name, data (as text, read before the next event replaces it) and raw frame.</summary>
    private static async Task<List<(string? Name, string Data, string Raw)>> ReadAllAsync(string body)
    {
        var stream = new PiecewiseStream();
        stream.Send(body);
        stream.End();
        await using var reader = new SseReader(stream);
        var events = new List<(string?, string, string)>();
        while (await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout) is { } next)
        {
            events.Add((next.Event, next.Text, Encoding.UTF8.GetString(reader.RawFrame.Span)));
        }

        return events;
    }

    [Fact]
    public async Task ReadAsync_NamedAndUnnamedEvents_ParsedWithRawFrames()
    {
        var events = await ReadAllAsync("event: message_start\ndata: {\"a\":1}\n\ndata: [DONE]\n\n");

        Assert.Equal(2, events.Count);
        Assert.Equal(("message_start", "{\"a\":1}"), (events[0].Name, events[0].Data));
        Assert.Equal("event: message_start\ndata: {\"a\":1}\n\n", events[0].Raw);
        Assert.Equal((null, "[DONE]"), (events[1].Name, events[1].Data));
        Assert.Equal("data: [DONE]\n\n", events[1].Raw);
    }

    [Fact]
    public async Task ReadAsync_CrLfLinesCommentsAndMultilineData_FollowTheSseRules()
    {
        var events = await ReadAllAsync(": keep-alive\r\n\r\ndata: line one\r\ndata: line two\r\nid: 7\r\n\r\ndata:nospace\n\n");

        Assert.Equal([(null, "line one\nline two"), (null, "nospace")], events.Select(e => (e.Name, e.Data)));
    }

    [Fact]
    public async Task ReadAsync_LastEventWithoutBlankLine_StillDelivered()
    {
        var events = await ReadAllAsync("data: {\"end\":true}");

        var single = Assert.Single(events);
        Assert.Equal((null, "{\"end\":true}"), (single.Name, single.Data));
    }

    [Fact]
    public async Task ReadAsync_DataLongerThanTheReadBuffer_ArrivesWholeAndInOrder()
    {
        // 100 KB of data in one line and then a second event: the line spans several of the pipe's 16 KB segments.
        var text = string.Concat(Enumerable.Range(0, 20_000).Select(i => (i % 10).ToString() + "abcd"));
        var events = await ReadAllAsync($"event: big\ndata: {text}\n\nevent: big\ndata: after\n\n");

        Assert.Equal([("big", text), ("big", "after")], events.Select(e => (e.Name, e.Data)));
        Assert.Equal($"event: big\ndata: {text}\n\n", events[0].Raw);
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

        var read = (await pending.WaitAsync(Timeout, TestContext.Current.CancellationToken))!.Value;
        Assert.Equal((null, "{\"text\":\"hi\"}"), (read.Event, read.Text));
    }

    [Fact]
    public async Task ReadAsync_SeveralEventsInOneRead_ReturnsEachWithoutWaitingForMoreBytes()
    {
        var stream = new PiecewiseStream();
        await using var reader = new SseReader(stream);
        stream.Send("data: 1\n\ndata: 2\n\ndata: 3\n\n");

        // The body stays open: a reader that waited for new bytes before returning buffered events would hang here.
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("1", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Text);
        Assert.Equal("2", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Text);
        Assert.Equal("3", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Text);
        stream.End();
        Assert.Null(await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct));
    }
}
