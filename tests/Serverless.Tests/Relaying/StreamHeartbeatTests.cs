using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Relaying;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Relaying;

public sealed class StreamHeartbeatTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // Set by a test before it starts a heartbeat; the heartbeat's own task inherits it, other tests' exceptions do not.
    private static readonly AsyncLocal<bool> Watched = new();

    /// <summary>An in-memory output (simulated: no network behind it) that records what is written and flushed.</summary>
    private sealed class RecordingOutput : IRelayOutput
    {
        private readonly ArrayBufferWriter<byte> _body = new();
        private int _flushes;

        public bool Started { get; private set; }

        public int Status { get; private set; }

        public int Flushes => Volatile.Read(ref _flushes);

        public string Written => Encoding.UTF8.GetString(_body.WrittenSpan);

        public IBufferWriter<byte> Body => _body;

        public bool NeedsKeepAlive => true;

        public void SetHeader(string name, string value)
        {
        }

        public void WriteLimitHeaders(KeyLease lease, WireFormat format)
        {
        }

        public void Start(int status, string contentType, long? contentLength, bool stream) => (Started, Status) = (true, status);

        public ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _flushes);
            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync() => throw new InvalidOperationException("A heartbeat never ends the response.");

        public void Abort() => throw new InvalidOperationException("A heartbeat never cuts the response.");
    }

    private static RelayRequest StreamedRequest() => RelayRequest.Create(
        new ClientKey { Id = "key-heartbeat", Name = "heartbeat", CreatedAt = DateTimeOffset.UnixEpoch, Hint = "sk-…beat" },
        new ChatRequest { Model = "m", Messages = [new ChatMessage(ChatRole.User, [new TextPart("hi")])], Stream = true });

    [Fact]
    public async Task Start_EachIntervalWithNothingSent_WritesAKeepAliveUntilStopped()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var output = new RecordingOutput();
        using var request = StreamedRequest();
        var heartbeat = StreamHeartbeat.Start(request, output, Interval, time, ct)!;

        time.Advance(Interval);
        await Eventually.ValueAsync("the first beat", _ => Task.FromResult(output.Flushes), flushes => flushes == 1);
        time.Advance(Interval);
        await Eventually.ValueAsync("the second beat", _ => Task.FromResult(output.Flushes), flushes => flushes == 2);
        await heartbeat.StopAsync().AsTask().WaitAsync(Timeout, ct);
        time.Advance(Interval * 3);
        await Task.Delay(50, ct);

        Assert.Equal(2, heartbeat.Beats);
        Assert.Equal(2, output.Flushes);
        Assert.Equal((true, 200), (output.Started, output.Status));
        Assert.Equal(": keep-alive\n\n: keep-alive\n\n", output.Written);
    }

    [Fact]
    public async Task StopAsync_BeforeAnyBeat_WritesNothingAndThrowsNoException()
    {
        // A quick answer stops its heartbeat before the first beat: that is every stream, so stopping must cost no
        // exception (a cancelled timer wait threw one, with its stack trace, on every stream).
        var ct = TestContext.Current.CancellationToken;
        var thrown = new ConcurrentQueue<Exception>();
        EventHandler<FirstChanceExceptionEventArgs> watch = (_, e) =>
        {
            if (Watched.Value)
            {
                thrown.Enqueue(e.Exception);
            }
        };
        var output = new RecordingOutput();
        using var request = StreamedRequest();
        AppDomain.CurrentDomain.FirstChanceException += watch;
        try
        {
            Watched.Value = true;
            var heartbeat = StreamHeartbeat.Start(request, output, Interval, new FakeTimeProvider(), ct)!;
            await heartbeat.StopAsync().AsTask().WaitAsync(Timeout, ct);
            await heartbeat.DisposeAsync().AsTask().WaitAsync(Timeout, ct);
            Watched.Value = false;

            Assert.Empty(thrown);
            Assert.Equal(0, heartbeat.Beats);
            Assert.False(output.Started);
            Assert.Equal(string.Empty, output.Written);
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= watch;
        }
    }
}
