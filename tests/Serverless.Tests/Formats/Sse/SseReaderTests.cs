using System.Text;
using System.Threading.Channels;
using Serverless.Relay.Formats.Sse;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Formats.Sse;

public sealed class SseReaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Far past any event of these tests but the ones about the bound.</summary>
    private const long MaxEventBytes = 1024 * 1024;

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
        await using var reader = new SseReader(stream, MaxEventBytes);
        var events = new List<(string?, string, string)>();
        while (await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout) is { } next)
        {
            events.Add((next.Event, next.Text, Encoding.UTF8.GetString(reader.RawFrame.Span)));
        }

        return events;
    }

    [Fact]
    public async Task ReadAsync_EventsUpToTheBound_ReadWhole_OnePastIt_Refused()
    {
        const int Bound = 1000;
        var atBound = "data: " + new string('a', Bound - "data: \n\n".Length) + "\n\n"; // the raw frame, line endings included
        var stream = new PiecewiseStream();
        stream.Send(atBound);
        stream.Send("data: " + new string('b', 600) + "\n");
        stream.Send("data: " + new string('c', 600) + "\n\n"); // two lines, together past the bound
        stream.End();
        await using var reader = new SseReader(stream, Bound);

        var first = await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Equal(Bound, reader.RawFrame.Length);
        Assert.Equal(new string('a', Bound - 8), first!.Value.Text);
        var refused = await Assert.ThrowsAsync<SseEventTooLongException>(() => reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Contains("1000 bytes", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_LineThatNeverEnds_RefusedOnceItPassesTheBound_NotHeldForEver()
    {
        var stream = new PiecewiseStream();
        stream.Send("data: ");
        for (var i = 0; i < 100; i++)
        {
            stream.Send(new string('x', 1024)); // 100 KB of one line, and the body never ends
        }

        await using var reader = new SseReader(stream, maxEventBytes: 16 * 1024);

        await Assert.ThrowsAsync<SseEventTooLongException>(() => reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
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
        await using var reader = new SseReader(stream, MaxEventBytes);
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
        await using var reader = new SseReader(stream, MaxEventBytes);
        stream.Send("data: 1\n\ndata: 2\n\ndata: 3\n\n");

        // The body stays open: a reader that waited for new bytes before returning buffered events would hang here.
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("1", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Text);
        Assert.Equal("2", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Text);
        Assert.Equal("3", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Text);
        stream.End();
        Assert.Null(await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct));
    }

    [Fact]
    public async Task TryReadBuffered_EventsThatArrivedTogether_TakenWithoutWaitingThenFalseUntilMoreArrive()
    {
        var stream = new PiecewiseStream();
        await using var reader = new SseReader(stream, MaxEventBytes);
        var ct = TestContext.Current.CancellationToken;
        stream.Send("data: 1\n\nevent: e\ndata: 2\n\ndata: 3");

        Assert.False(reader.TryReadBuffered(out _)); // nothing has been read from the body yet
        Assert.Equal("1", (await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct))!.Value.Text);
        Assert.True(reader.TryReadBuffered(out var second));
        Assert.Equal(("e", "2"), (second!.Value.Event, second.Value.Text));
        Assert.Equal("event: e\ndata: 2\n\n", Encoding.UTF8.GetString(reader.RawFrame.Span));

        // The third event has begun but not ended: its line is kept, and the read that waits finishes it.
        Assert.False(reader.TryReadBuffered(out _));
        Assert.False(reader.TryReadBuffered(out _));
        var pending = reader.ReadAsync(ct).AsTask();
        stream.Send("3\ndata: 4\n\n");
        var third = (await pending.WaitAsync(Timeout, ct))!.Value;
        Assert.Equal("33\n4", third.Text);
        Assert.Equal("data: 33\ndata: 4\n\n", Encoding.UTF8.GetString(reader.RawFrame.Span));

        stream.End();
        Assert.Null(await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct));
    }

    [Fact]
    public async Task TryReadBuffered_CrAtTheEndOfWhatArrived_WaitsForWhatFollows()
    {
        var stream = new PiecewiseStream();
        await using var reader = new SseReader(stream, MaxEventBytes);
        var ct = TestContext.Current.CancellationToken;
        stream.Send("data: a\r\n\r");
        var pending = reader.ReadAsync(ct).AsTask();
        await Eventually.ValueAsync("the reader waiting after the lone CR", _ => Task.FromResult(stream.Starved), starved => starved);
        Assert.False(pending.IsCompleted);
        Assert.False(reader.TryReadBuffered(out _));

        stream.Send("\ndata: b\n\n");
        Assert.Equal("a", (await pending.WaitAsync(Timeout, ct))!.Value.Text);
        Assert.Equal("data: a\r\n\r\n", Encoding.UTF8.GetString(reader.RawFrame.Span));
        Assert.True(reader.TryReadBuffered(out var b));
        Assert.Equal("b", b!.Value.Text);
    }

    [Theory]
    [InlineData("data: x\r")]
    [InlineData("data: x\r\n")]
    [InlineData("data: x\n")]
    public async Task ReadAsync_BodyEndsRightAfterALineEnding_TheEndingIsNotData(string body)
    {
        var single = Assert.Single(await ReadAllAsync(body));
        Assert.Equal("x", single.Data);
        Assert.Equal(body, single.Raw);
    }

    /// <summary>
    /// Seeded bodies (LF, CR LF and CR endings, comments, named and multi-line events, lines longer than the pipe's 16 KB
    /// segments) cut into random pieces and read with a random mix of waiting and buffered reads: the same events and
    /// raw frames as the body read whole, in one piece.
    /// </summary>
    [Fact]
    public async Task Reads_AnyCutAndAnyMixOfBufferedAndWaitingReads_SameEventsAsTheWholeBody()
    {
        var random = new Random(20261205);
        var ct = TestContext.Current.CancellationToken;
        for (var body = 0; body < 200; body++)
        {
            var text = RandomSseBody(random);
            var whole = await ReadAllAsync(text);
            Assert.Equal(ParseAsTheSpecSays(text), whole);

            var stream = new PiecewiseStream();
            for (var at = 0; at < text.Length;)
            {
                var length = Math.Min(text.Length - at, random.Next(4) == 0 ? random.Next(1, 40_000) : random.Next(1, 12));
                stream.Send(text.Substring(at, length));
                at += length;
            }

            stream.End();
            await using var reader = new SseReader(stream, MaxEventBytes);
            var read = new List<(string?, string, string)>();
            while (true)
            {
                SseEvent? taken = null;
                var buffered = random.Next(2) == 0 && reader.TryReadBuffered(out taken);
                var next = buffered ? taken : await reader.ReadAsync(ct).AsTask().WaitAsync(Timeout, ct);
                if (next is not { } sse)
                {
                    break;
                }

                read.Add((sse.Event, sse.Text, Encoding.UTF8.GetString(reader.RawFrame.Span)));
            }

            Assert.True(whole.Count > 0, text);
            Assert.Equal(whole, read);
        }
    }

    private static string RandomSseBody(Random random)
    {
        var text = new StringBuilder();
        string[] endings = ["\n", "\r\n", "\r"];
        var ending = endings[random.Next(endings.Length)];
        for (var i = random.Next(1, 12); i > 0; i--)
        {
            if (random.Next(5) == 0)
            {
                text.Append(": comment ").Append(i).Append(ending);
            }

            if (random.Next(3) == 0)
            {
                text.Append("event: name").Append(random.Next(3)).Append(ending);
            }

            for (var lines = random.Next(1, 4); lines > 0; lines--)
            {
                var size = random.Next(8) == 0 ? random.Next(16_000, 40_000) : random.Next(0, 80);
                text.Append("data: ").Append(new string((char)('a' + random.Next(26)), size)).Append('é').Append(ending);
            }

            text.Append(ending);
            ending = random.Next(4) == 0 ? endings[random.Next(endings.Length)] : ending;
        }

        // Some servers close without the last blank line, or even the last line's ending.
        var cut = random.Next(4) == 0 ? random.Next(1, 3) : 0;
        return text.ToString()[..^cut];
    }

    /// <summary>
    /// The events of a whole body by the HTML standard's rules, string by string: lines end at CR LF, LF or CR; a blank
    /// line dispatches; comments and unknown fields are skipped; an event without its blank line at the end still counts
    /// (as the relay's reader delivers it). Each raw frame runs from the end of the last one to the end of its event.
    /// </summary>
    private static List<(string? Name, string Data, string Raw)> ParseAsTheSpecSays(string body)
    {
        var events = new List<(string?, string, string)>();
        string? name = null;
        List<string>? data = null;
        var frameStart = 0;
        for (var at = 0; at < body.Length;)
        {
            var end = body.IndexOfAny(['\r', '\n'], at);
            var next = end < 0 ? body.Length : body[end] == '\r' && end + 1 < body.Length && body[end + 1] == '\n' ? end + 2 : end + 1;
            var line = body[at..(end < 0 ? body.Length : end)];
            at = next;
            if (line.Length == 0)
            {
                if (data is not null || name is not null)
                {
                    events.Add((name, string.Join('\n', data ?? []), body[frameStart..at]));
                    (name, data, frameStart) = (null, null, at);
                }

                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var (field, value) = colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..]);
            value = value.StartsWith(' ') ? value[1..] : value;
            if (field == "data")
            {
                (data ??= []).Add(value);
            }
            else if (field == "event")
            {
                name = value;
            }
        }

        if (data is not null || name is not null)
        {
            events.Add((name, string.Join('\n', data ?? []), body[frameStart..]));
        }

        return events;
    }
}
