using System.Text;
using Microsoft.Extensions.Logging;

namespace Serverless.Webhooks.Messaging;

/// <summary>
/// Local mode's <see cref="IMessageSender"/>: writes a <see cref="LocalQueueEnvelope"/> to the Storage queue that stands
/// in for the Service Bus queue. What Service Bus does on its side is played here: a scheduled message stays invisible
/// until its time, and a second send of a <c>MessageId</c> within the window is dropped.
/// </summary>
internal sealed partial class StorageQueueMessageSender(
    LocalQueues queues,
    LocalDuplicateDetection duplicates,
    LocalQueueWakeup wakeup,
    TimeProvider time,
    ILogger<StorageQueueMessageSender> logger) : IMessageSender
{
    /// <summary>The Storage queue's limit on a visibility timeout.</summary>
    internal static readonly TimeSpan MaxSchedule = TimeSpan.FromDays(7);

    /// <summary>The most UTF-8 bytes a Storage queue message's text may have (Azurite checks it as Azure does).</summary>
    internal const int MaxMessageBytes = 64 * 1024;

    private long _lastEnqueuedTicks;

    /// <summary>Measured on the envelope, as sent: its body is escaped once more inside it.</summary>
    public bool Fits(OutgoingMessage message) =>
        Encoding.UTF8.GetByteCount(EnvelopeOf(message, DateTimeOffset.MaxValue).Write()) <= MaxMessageBytes;

    public async Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // NOTE: a Storage queue counts visibility in whole seconds (and drops the fraction): round up, never deliver early.
        var delay = message.ScheduledEnqueueTime is { } scheduled && scheduled > now
            ? TimeSpan.FromSeconds(Math.Ceiling((scheduled - now).TotalSeconds))
            : TimeSpan.Zero;
        if (delay >= MaxSchedule)
        {
            throw new ArgumentOutOfRangeException(nameof(message), $"local queues cannot schedule a message {delay} ahead (at most {MaxSchedule.TotalDays} days)");
        }

        if (!await duplicates.TryClaimAsync(message.Queue, message.MessageId, cancellationToken).ConfigureAwait(false))
        {
            Log.Duplicate(logger, message.Queue, message.MessageId);
            return;
        }

        try
        {
            var envelope = EnvelopeOf(message, NextEnqueuedTime(now));
            var queue = await queues.GetAsync(message.Queue, cancellationToken).ConfigureAwait(false);
            // NOTE: a Storage message lives 7 days by default; the local stand-in keeps it until handled, like a queue
            // without a time-to-live.
            await queue.SendMessageAsync(envelope.Write(), delay, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await duplicates.ReleaseAsync(message.Queue, message.MessageId, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        if (delay == TimeSpan.Zero)
        {
            wakeup.Notify(message.Queue);
        }
    }

    private static LocalQueueEnvelope EnvelopeOf(OutgoingMessage message, DateTimeOffset enqueued) =>
        new(message.MessageId, message.SessionId, message.Body, enqueued) { Scheduled = message.ScheduledEnqueueTime };

    /// <summary>Strictly increasing, so two sends in one clock tick keep their order within a session.</summary>
    private DateTimeOffset NextEnqueuedTime(DateTimeOffset now)
    {
        while (true)
        {
            var last = Interlocked.Read(ref _lastEnqueuedTicks);
            var next = Math.Max(now.UtcTicks, last + 1);
            if (Interlocked.CompareExchange(ref _lastEnqueuedTicks, next, last) == last)
            {
                return new DateTimeOffset(next, TimeSpan.Zero);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Message {MessageId} was already sent to {Queue} within the duplicate window; dropped")]
        public static partial void Duplicate(ILogger logger, string queue, string messageId);
    }
}
