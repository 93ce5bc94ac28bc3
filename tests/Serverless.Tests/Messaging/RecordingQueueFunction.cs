using System.Text.Json;
using Serverless.Relay.Functions;

namespace Serverless.Tests.Messaging;

/// <summary>
/// A test-only Service Bus function: records every invocation, and behaves as its message body asks:
/// <c>{"failUntil": n}</c> throws until delivery n; <c>{"fail": true}</c> always throws; <c>{"sleepMs": n}</c> takes that
/// long; <c>{"rendezvous": true}</c> waits until two such invocations run at once (and throws if they never do).
/// It notes a session that ever had two of its messages running at once.
/// </summary>
internal sealed class RecordingQueueFunction(string name = RecordingQueueFunction.DefaultName) : IQueueFunction
{
    public const string DefaultName = "RecordingQueue";

    private readonly object _gate = new();
    private readonly List<Invocation> _invocations = [];
    private readonly Dictionary<string, int> _runningPerSession = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _rendezvous = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _rendezvousArrived;

    public sealed record Invocation(QueueMessage Message, DateTimeOffset StartedAt, bool Succeeded);

    public string Name => name;

    /// <summary>Completed when an invocation has started.</summary>
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Sessions that had two messages running at once.</summary>
    public List<string> OverlappingSessions { get; } = [];

    public IReadOnlyList<Invocation> Invocations
    {
        get
        {
            lock (_gate)
            {
                return [.. _invocations];
            }
        }
    }

    public async Task RunAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var session = message.SessionId ?? "";
        lock (_gate)
        {
            _runningPerSession[session] = _runningPerSession.GetValueOrDefault(session) + 1;
            if (_runningPerSession[session] > 1)
            {
                OverlappingSessions.Add(session);
            }
        }

        Started.TrySetResult();
        var succeeded = false;
        try
        {
            using var body = JsonDocument.Parse(message.Body);
            var root = body.RootElement;
            if (root.TryGetProperty("sleepMs", out var sleep))
            {
                await Task.Delay(sleep.GetInt32(), cancellationToken);
            }

            if (root.TryGetProperty("rendezvous", out _))
            {
                if (Interlocked.Increment(ref _rendezvousArrived) >= 2)
                {
                    _rendezvous.TrySetResult();
                }

                await _rendezvous.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
            }

            if (root.TryGetProperty("fail", out _)
                || (root.TryGetProperty("failUntil", out var until) && message.DeliveryCount < until.GetInt32()))
            {
                throw new InvalidOperationException("failing on purpose");
            }

            succeeded = true;
        }
        finally
        {
            lock (_gate)
            {
                _runningPerSession[session]--;
                _invocations.Add(new Invocation(message, started, succeeded));
            }
        }
    }
}
