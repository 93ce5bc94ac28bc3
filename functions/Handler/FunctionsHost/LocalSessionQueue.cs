using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Serverless.Webhooks.Messaging;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// One Service Bus function played over its stand-in Storage queue: receive, group by session, invoke, settle.
/// Guarantees, as a session-enabled Service Bus trigger gives them:
/// - one message of a session at a time, in the order sent (<see cref="LocalQueueEnvelope.EnqueuedTime"/>);
///   sessions run concurrently up to <see cref="LocalQueueOptions.MaxConcurrentSessions"/>;
/// - a failed message comes back (after a back-off) before any later message of its session runs, with the Storage
///   queue's <c>DequeueCount</c> as its delivery count; at <see cref="LocalQueueOptions.MaxDeliveryCount"/> it moves to
///   <c>{queue}-poison</c> instead and the session goes on;
/// - completed messages are deleted; a message whose handling never finished reappears when its lock (the visibility
///   timeout) runs out: at least once, as with Service Bus.
/// NOTE: messages waiting behind a busy session stay received (invisible), each counting one dequeue; a message that
/// waits longer than the lock is received again, which counts as a delivery as well.
/// </summary>
internal sealed partial class LocalSessionQueue : IDisposable
{
    /// <summary>How many received messages this process holds at most; the rest stay in the queue for other receivers.</summary>
    private const int MaxHeld = 256;
    private const int ReceiveBatch = 32;
    private static readonly TimeSpan FirstIdleDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    private readonly QueueRegistration _registration;
    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly LocalQueueOptions _options;
    private readonly Func<QueueRegistration, Held, CancellationToken, Task<bool>> _invoke;
    private readonly LocalQueueWakeup _wakeup;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly object _gate = new();
    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Held> _held = new(StringComparer.Ordinal);
    private readonly List<Task> _workers = [];
    private readonly CancellationTokenSource _abandon = new();

    public LocalSessionQueue(
        QueueRegistration registration,
        QueueClient queue,
        QueueClient poison,
        LocalQueueOptions options,
        Func<QueueRegistration, Held, CancellationToken, Task<bool>> invoke,
        LocalQueueWakeup wakeup,
        TimeProvider time,
        ILogger logger)
    {
        _registration = registration;
        _queue = queue;
        _poison = poison;
        _options = options;
        _invoke = invoke;
        _wakeup = wakeup;
        _time = time;
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxConcurrentSessions, options.MaxConcurrentSessions);
    }

    /// <summary>A received message this process holds: waiting in its session, or being invoked.</summary>
    internal sealed class Held(QueueMessage received, LocalQueueEnvelope envelope)
    {
        public string QueueMessageId { get; } = received.MessageId;
        public string PopReceipt { get; set; } = received.PopReceipt;
        public long DequeueCount { get; set; } = received.DequeueCount;
        public LocalQueueEnvelope Envelope { get; } = envelope;
    }

    private sealed class Session(string id)
    {
        public string Id { get; } = id;
        /// <summary>Waiting messages, earliest sent first.</summary>
        public List<Held> Pending { get; } = [];
        public bool Running { get; set; }
        /// <summary>A failed message made visible again after a back-off: nothing later in the session runs before it.</summary>
        public string? AwaitedMessageId { get; set; }
        public DateTimeOffset AwaitedUntil { get; set; }
    }

    private enum Outcome { Completed, Failed, Abandoned }

    /// <summary>Sessions this process holds: with messages waiting or running, or waiting for a failed one to come back.</summary>
    internal int SessionsHeld
    {
        get
        {
            lock (_gate)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>Polls until <paramref name="stoppingToken"/>, then lets running invocations finish (or abandons them) and hands back what it holds.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var idle = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            var received = 0;
            try
            {
                received = await ReceiveAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // NOTE: whatever storage throws (a timeout, a refused connection), polling goes on after the idle back-off:
                // an exception escaping a hosted service would stop the whole handler.
                Log.ReceiveFailed(_logger, _queue.Name, e);
            }

            StartReadySessions(stoppingToken);
            if (received > 0)
            {
                idle = TimeSpan.Zero;
                continue;
            }

            // NOTE: an idle queue costs one request per MaxPollInterval; a send from this process wakes the poll at once.
            idle = idle == TimeSpan.Zero ? FirstIdleDelay : TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, _options.MaxPollInterval.Ticks));
            try
            {
                await _wakeup.WaitAsync(_registration.QueueName, idle, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await DrainAsync().ConfigureAwait(false);
    }

    private async Task<int> ReceiveAsync(CancellationToken stoppingToken)
    {
        int room;
        lock (_gate)
        {
            room = Math.Min(ReceiveBatch, MaxHeld - _held.Count);
        }

        if (room <= 0)
        {
            return 0;
        }

        var messages = (await _queue.ReceiveMessagesAsync(room, _options.LockDuration, stoppingToken).ConfigureAwait(false)).Value;
        foreach (var message in messages)
        {
            if (LocalQueueEnvelope.TryRead(message.MessageText) is not { } envelope)
            {
                // Not ours to read: Service Bus would never hand it to the function either.
                Log.NotAnEnvelope(_logger, _queue.Name, message.MessageId);
                using var settling = new CancellationTokenSource(SettleTimeout);
                await MoveToPoisonAsync(message.MessageId, message.PopReceipt, message.MessageText, settling.Token).ConfigureAwait(false);
                continue;
            }

            Accept(message, envelope);
        }

        return messages.Length;
    }

    private void Accept(QueueMessage message, LocalQueueEnvelope envelope)
    {
        lock (_gate)
        {
            if (_held.TryGetValue(message.MessageId, out var known))
            {
                // Held longer than its lock and received again: only the newest receipt can settle it.
                known.PopReceipt = message.PopReceipt;
                known.DequeueCount = message.DequeueCount;
                return;
            }

            var held = new Held(message, envelope);
            _held[held.QueueMessageId] = held;
            if (!_sessions.TryGetValue(envelope.SessionId, out var session))
            {
                _sessions[envelope.SessionId] = session = new Session(envelope.SessionId);
            }

            if (session.AwaitedMessageId == held.QueueMessageId)
            {
                session.AwaitedMessageId = null;
            }

            var at = session.Pending.FindIndex(p => Compare(held.Envelope, p.Envelope) < 0);
            session.Pending.Insert(at < 0 ? session.Pending.Count : at, held);
        }
    }

    private static int Compare(LocalQueueEnvelope a, LocalQueueEnvelope b)
    {
        var byTime = a.EnqueuedTime.CompareTo(b.EnqueuedTime);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.MessageId, b.MessageId);
    }

    private void StartReadySessions(CancellationToken stoppingToken)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            _workers.RemoveAll(w => w.IsCompleted);
            foreach (var session in _sessions.Values)
            {
                if (session.AwaitedMessageId is not null && now >= session.AwaitedUntil)
                {
                    // The failed message did not come back in time (another process took it): go on without it.
                    session.AwaitedMessageId = null;
                }

                if (session.Running || session.AwaitedMessageId is not null)
                {
                    continue;
                }

                if (session.Pending.Count == 0)
                {
                    // Nothing came after the message it gave up on, and nothing runs it: a worker removes only the
                    // sessions it leaves empty. NOTE: Remove during enumeration is allowed for Dictionary since .NET Core 3.0.
                    _sessions.Remove(session.Id);
                    continue;
                }

                session.Running = true;
                _workers.Add(Task.Run(() => RunSessionAsync(session, stoppingToken), CancellationToken.None));
            }
        }
    }

    /// <summary>Handles a session's messages one after the other while it has some and is not waiting for a redelivery.</summary>
    private async Task RunSessionAsync(Session session, CancellationToken stoppingToken)
    {
        try
        {
            await _slots.WaitAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                session.Running = false;
            }

            return;
        }

        try
        {
            while (true)
            {
                Held next;
                lock (_gate)
                {
                    if (stoppingToken.IsCancellationRequested || session.AwaitedMessageId is not null || session.Pending.Count == 0)
                    {
                        session.Running = false;
                        if (session.Pending.Count == 0 && session.AwaitedMessageId is null)
                        {
                            _sessions.Remove(session.Id);
                        }

                        return;
                    }

                    next = session.Pending[0];
                    session.Pending.RemoveAt(0);
                }

                var outcome = await InvokeAsync(next).ConfigureAwait(false);
                await SettleAsync(session, next, outcome).ConfigureAwait(false);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<Outcome> InvokeAsync(Held message)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abandon.Token);
        timeout.CancelAfter(_options.FunctionTimeout);
        try
        {
            return await _invoke(_registration, message, timeout.Token).ConfigureAwait(false) ? Outcome.Completed : Outcome.Failed;
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            return Outcome.Abandoned;
        }
        catch (Exception e)
        {
            // No answer (refused, timed out, reset) fails the delivery, as a host invocation that never answers does.
            Log.InvokeFailed(_logger, _registration.FunctionName, e.GetType().Name);
            return Outcome.Failed;
        }
    }

    private async Task SettleAsync(Session session, Held message, Outcome outcome)
    {
        // NOTE: let go of it before the queue can hand it out again, so a quick redelivery is taken as new.
        lock (_gate)
        {
            _held.Remove(message.QueueMessageId);
        }

        // Settling must outlive shutdown's cancellation (or a finished message would be handled again): bounded instead.
        using var settling = new CancellationTokenSource(SettleTimeout);
        try
        {
            switch (outcome)
            {
                case Outcome.Completed:
                    await _queue.DeleteMessageAsync(message.QueueMessageId, message.PopReceipt, settling.Token).ConfigureAwait(false);
                    break;
                case Outcome.Failed when message.DequeueCount >= _options.MaxDeliveryCount:
                    Log.DeadLettered(_logger, _registration.FunctionName, message.Envelope.MessageId, message.DequeueCount, _poison.Name);
                    await MoveToPoisonAsync(message.QueueMessageId, message.PopReceipt, message.Envelope.Write(), settling.Token).ConfigureAwait(false);
                    break;
                case Outcome.Failed:
                    var delay = RetryDelay(message.DequeueCount);
                    lock (_gate)
                    {
                        session.AwaitedMessageId = message.QueueMessageId;
                        session.AwaitedUntil = _time.GetUtcNow() + delay + delay + TimeSpan.FromSeconds(5);
                    }

                    await _queue.UpdateMessageAsync(message.QueueMessageId, message.PopReceipt, visibilityTimeout: delay, cancellationToken: settling.Token).ConfigureAwait(false);
                    break;
                default:
                    await _queue.UpdateMessageAsync(message.QueueMessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: settling.Token).ConfigureAwait(false);
                    break;
            }
        }
        catch (RequestFailedException e) when (e.Status is 404 or 400)
        {
            // The lock ran out and another receive took the message (or it is gone): that receive settles it.
            Log.LockLost(_logger, _queue.Name, message.Envelope.MessageId);
        }
        catch (Exception e)
        {
            // Unsettled: it reappears when its lock runs out and is delivered again.
            Log.SettleFailed(_logger, _queue.Name, message.Envelope.MessageId, e);
        }
    }

    private TimeSpan RetryDelay(long deliveries)
    {
        var doublings = (int)Math.Clamp(deliveries - 1, 0, 20);
        var ticks = Math.Min(_options.RetryDelay.Ticks * (1L << doublings), _options.MaxRetryDelay.Ticks);
        return TimeSpan.FromTicks(Math.Max(ticks, _options.RetryDelay.Ticks));
    }

    private async Task MoveToPoisonAsync(string queueMessageId, string popReceipt, string text, CancellationToken cancellationToken)
    {
        try
        {
            await _poison.SendMessageAsync(text, TimeSpan.Zero, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
            await _queue.DeleteMessageAsync(queueMessageId, popReceipt, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.SettleFailed(_logger, _queue.Name, queueMessageId, e);
        }
    }

    /// <summary>Shutdown: running invocations get <see cref="LocalQueueOptions.ShutdownGrace"/> to finish, then are abandoned; waiting messages are made visible at once.</summary>
    private async Task DrainAsync()
    {
        Task[] workers;
        lock (_gate)
        {
            workers = [.. _workers];
        }

        var all = Task.WhenAll(workers);
        if (await Task.WhenAny(all, Task.Delay(_options.ShutdownGrace)).ConfigureAwait(false) != all)
        {
            await _abandon.CancelAsync().ConfigureAwait(false);
        }

        await all.ConfigureAwait(false);

        Held[] waiting;
        lock (_gate)
        {
            waiting = [.. _held.Values];
            _held.Clear();
            _sessions.Clear();
        }

        using var settling = new CancellationTokenSource(SettleTimeout);
        await Task.WhenAll(waiting.Select(async held =>
        {
            try
            {
                await _queue.UpdateMessageAsync(held.QueueMessageId, held.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: settling.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // It reappears when its lock runs out.
                Log.SettleFailed(_logger, _queue.Name, held.Envelope.MessageId, e);
            }
        })).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _abandon.Dispose();
        _slots.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Receiving from the local queue {Queue} failed; polling goes on")]
        public static partial void ReceiveFailed(ILogger logger, string queue, Exception exception);

        [LoggerMessage(EventId = 31, Level = LogLevel.Warning, Message = "Message {QueueMessageId} in the local queue {Queue} is not an envelope; moved to the poison queue")]
        public static partial void NotAnEnvelope(ILogger logger, string queue, string queueMessageId);

        [LoggerMessage(EventId = 32, Level = LogLevel.Warning, Message = "Invoking {Function} failed before it answered: {Reason}")]
        public static partial void InvokeFailed(ILogger logger, string function, string reason);

        [LoggerMessage(EventId = 33, Level = LogLevel.Error, Message = "{Function} failed message {MessageId} {Deliveries} times; moved to {PoisonQueue}")]
        public static partial void DeadLettered(ILogger logger, string function, string messageId, long deliveries, string poisonQueue);

        [LoggerMessage(EventId = 34, Level = LogLevel.Information, Message = "Message {MessageId} of {Queue} lost its lock before it was settled; it is delivered again")]
        public static partial void LockLost(ILogger logger, string queue, string messageId);

        [LoggerMessage(EventId = 35, Level = LogLevel.Warning, Message = "Settling message {MessageId} of {Queue} failed; it is delivered again when its lock runs out")]
        public static partial void SettleFailed(ILogger logger, string queue, string messageId, Exception exception);
    }
}
