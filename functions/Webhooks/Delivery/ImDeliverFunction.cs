using Microsoft.Extensions.Logging;
using Serverless.Relay.Functions;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Notifications;
using Serverless.Webhooks.Pending;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Delivery;

/// <summary>
/// <c>im-outbound</c> (sessions: one chat at a time, so parts and replies keep their order): sends a reply through the
/// platform's API, split into parts within the platform's limit, and marks the pending message delivered. A platform
/// 429 schedules the rest for after its <c>retry_after</c> instead of failing; a permanent platform error marks the
/// row failed with the reason and stops (redelivering would only repeat it); a transient one before any part went out
/// fails the invocation so the queue delivers it again, and after a part went out schedules the rest, so no part is
/// sent twice.
/// </summary>
internal sealed partial class ImDeliverFunction(
    ChannelStore channels,
    ImPlatforms platforms,
    PendingMessages pending,
    IMessageSender sender,
    TimeProvider time,
    ILogger<ImDeliverFunction> logger,
    NotificationDelivery notifications) : IQueueFunction
{
    public const string FunctionName = "ImDeliver";

    /// <summary>How long a transient failure after some parts went out waits before the rest is tried again.</summary>
    internal static readonly TimeSpan ContinueAfterTransientFailure = TimeSpan.FromSeconds(5);

    public string Name => FunctionName;

    public async Task RunAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        var reply = ImMessages.ReadOutbound(message.Body);
        if (reply.Kind == OutboundKind.Notification)
        {
            // An operator's notification target, not a chat: no channel, no pending row, no parts.
            await notifications.DeliverAsync(reply, cancellationToken).ConfigureAwait(false);
            return;
        }

        var session = message.SessionId ?? reply.ChannelId + ":" + reply.Target.ChatId;
        var tracksPending = reply.Kind != OutboundKind.Notification;

        // :: Step 1 Still to send? Not when the message already ended (see IsSettled): this is a redelivery, or too late.
        if (tracksPending
            && await pending.GetAsync(reply.ChannelId, reply.MessageKey, cancellationToken).ConfigureAwait(false) is { } ended
            && IsSettled(reply.Kind, ended.State))
        {
            Log.AlreadyEnded(logger, reply.ChannelId, reply.MessageKey, ended.State);
            return;
        }

        if (await channels.GetAsync(reply.ChannelId, cancellationToken).ConfigureAwait(false) is not { } channel)
        {
            await MarkAsync(tracksPending, reply, PendingState.Failed, "channel deleted", cancellationToken).ConfigureAwait(false);
            return;
        }

        // :: Step 2 Send the parts from where the last attempt stopped.
        var platform = platforms[channel.Platform];
        var parts = ReplySplitter.Split(reply.Text, platform.MaxTextLength, platform.MeasureText);
        for (var part = reply.NextPart; part < parts.Count; part++)
        {
            var partKey = $"{reply.ChannelId}:{reply.MessageKey}:{reply.Kind}:{part}";
            var result = await platform.SendAsync(channel, reply.Target, parts[part], partKey, cancellationToken).ConfigureAwait(false);
            switch (result)
            {
                case DeliveryResult.Delivered:
                    continue;
                case DeliveryResult.RetryAfter retry:
                    Log.RateLimited(logger, channel.Id, reply.MessageKey, retry.Delay);
                    await ContinueLaterAsync(reply, part, session, message.DeliveryCount, retry.Delay, cancellationToken).ConfigureAwait(false);
                    return;
                case DeliveryResult.Failed { Permanent: true } failed:
                    Log.Failed(logger, channel.Id, reply.MessageKey, failed.Reason);
                    await MarkAsync(tracksPending, reply, PendingState.Failed, failed.Reason, cancellationToken).ConfigureAwait(false);
                    return;
                case DeliveryResult.Failed failed when part == reply.NextPart:
                    // Nothing went out in this attempt: let the queue deliver it again (and dead-letter it in the end).
                    throw new ImDeliveryException($"{platform.Platform} refused part {part + 1} of {parts.Count}: {failed.Reason}");
                case DeliveryResult.Failed failed:
                    Log.Failed(logger, channel.Id, reply.MessageKey, failed.Reason);
                    await ContinueLaterAsync(reply, part, session, message.DeliveryCount, ContinueAfterTransientFailure, cancellationToken).ConfigureAwait(false);
                    return;
            }
        }

        await MarkAsync(tracksPending, reply, PendingState.Delivered, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether a reply or notice to a message in <paramref name="state"/> must not go out. An answer to a message that
    /// ended (delivered, failed, expired) is dropped. A notice is dropped once the message was delivered or failed (a
    /// redelivery of a refusal that already went out); a notice to an expired message still goes, since that is
    /// PurgePending's "timed out", sent after the row expired.
    /// </summary>
    internal static bool IsSettled(OutboundKind kind, PendingState state) => kind == OutboundKind.Reply
        ? state.IsFinal()
        : state is PendingState.Delivered or PendingState.Failed;

    /// <summary>The rest of the reply as a scheduled message of the same session, with an id of its own (not a duplicate).</summary>
    private Task ContinueLaterAsync(OutboundReply reply, int nextPart, string session, int deliveryCount, TimeSpan delay, CancellationToken cancellationToken)
    {
        var rest = reply with { NextPart = nextPart };
        var step = $"{reply.Kind}:part{nextPart}:{deliveryCount}:{time.GetUtcNow().ToUnixTimeMilliseconds()}";
        var later = ImMessageIds.Outbound(rest, session, step) with { ScheduledEnqueueTime = time.GetUtcNow() + delay };
        return sender.SendAsync(later, cancellationToken);
    }

    private Task MarkAsync(bool tracksPending, OutboundReply reply, PendingState state, string? reason, CancellationToken cancellationToken) =>
        tracksPending ? pending.MarkAsync(reply.ChannelId, reply.MessageKey, state, reason, cancellationToken) : Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 4020, Level = LogLevel.Information, Message = "ImDeliver: channel {ChannelId} message {MessageKey} already {State}; reply dropped")]
        public static partial void AlreadyEnded(ILogger logger, string channelId, string messageKey, PendingState state);

        [LoggerMessage(EventId = 4021, Level = LogLevel.Information, Message = "ImDeliver: channel {ChannelId} message {MessageKey} rate limited by the platform; rest scheduled in {Delay}")]
        public static partial void RateLimited(ILogger logger, string channelId, string messageKey, TimeSpan delay);

        [LoggerMessage(EventId = 4022, Level = LogLevel.Warning, Message = "ImDeliver: channel {ChannelId} message {MessageKey} failed: {Reason}")]
        public static partial void Failed(ILogger logger, string channelId, string messageKey, string reason);
    }
}

/// <summary>A delivery that failed for now; the queue delivers the message again.</summary>
internal sealed class ImDeliveryException(string message) : Exception(message);
