using Microsoft.Extensions.Logging;
using Serverless.Relay.Canonical;
using Serverless.Relay.Functions;
using Serverless.Relay.Keys;
using Serverless.Relay.Relaying;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Conversations;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Pending;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Processing;

/// <summary>
/// <c>im-inbound</c> (sessions: one conversation at a time, in order): answers one user message with the relay's own
/// pipeline in process — the channel's key, its limits, the scheduler, failover and metering, as any client gets — and
/// sends the reply to <c>im-outbound</c>. A refusal or an upstream failure becomes a short notice to the user, never
/// silence. Throwing (storage or queue down, shutdown) lets the queue deliver the message again.
/// </summary>
internal sealed partial class ImProcessFunction(
    ChannelStore channels,
    ClientKeyStore keys,
    PendingMessages pending,
    ConversationStore conversations,
    ChannelUserLimits userLimits,
    IRelay relay,
    IMessageSender sender,
    ILogger<ImProcessFunction> logger) : IQueueFunction
{
    public const string FunctionName = "ImProcess";

    public string Name => FunctionName;

    public async Task RunAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        var work = ImMessages.ReadInbound(message.Body);
        var inbound = work.Message;
        var session = message.SessionId ?? ImMessageIds.Session(work.ChannelId, inbound.ConversationId);

        // :: Step 1 Still to do? A redelivery after the reply went out finds the row past Queued and stops.
        var row = await pending.GetAsync(work.ChannelId, inbound.MessageKey, cancellationToken).ConfigureAwait(false);
        if (row is not null && row.State != PendingState.Queued)
        {
            Log.AlreadyHandled(logger, work.ChannelId, inbound.MessageKey, row.State);
            return;
        }

        if (await channels.GetAsync(work.ChannelId, cancellationToken).ConfigureAwait(false) is not { Enabled: true } channel)
        {
            await pending.MarkAsync(work.ChannelId, inbound.MessageKey, PendingState.Failed, "channel deleted or disabled", cancellationToken).ConfigureAwait(false);
            return;
        }

        // :: Step 2 Commands.
        if (ImCommands.IsReset(inbound.Text))
        {
            await conversations.ResetAsync(channel.Id, inbound.ConversationId, cancellationToken).ConfigureAwait(false);
            await ReplyAsync(channel, work, session, ImNotices.NewConversation, OutboundKind.Notice, null, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await keys.GetIfExistsAsync(channel.KeyId, cancellationToken).ConfigureAwait(false) is not { } key)
        {
            await ReplyAsync(channel, work, session, ImNotices.Unavailable, OutboundKind.Notice, "the channel's key no longer exists", cancellationToken).ConfigureAwait(false);
            return;
        }

        // :: Step 3 The conversation so far and the new message, as one chat request.
        var turns = await conversations.LoadAsync(channel.Id, inbound.ConversationId, cancellationToken).ConfigureAwait(false);
        var chat = ChatOf(channel, turns, inbound);

        // :: Step 4 The user's own limits, then the relay (which applies the key's).
        using var userLease = await userLimits.AcquireAsync(key, channel.PerUserLimits, inbound.UserId, chat, cancellationToken).ConfigureAwait(false);
        if (!userLease.IsAcquired)
        {
            var refusal = userLease.ToError();
            await ReplyAsync(channel, work, session, ImNotices.Refused(refusal.Message), OutboundKind.Notice, "per-user limit: " + refusal.Message, cancellationToken).ConfigureAwait(false);
            return;
        }

        // The usage row names the channel (client API "im:{platform}:{id}"), whichever key pays.
        // Its audit row names the platform as the client, and the channel may ask for a full audit.
        var api = ClientApis.InProcess with { UsageName = ChannelUsageName(channel) };
        using var request = RelayRequest.Create(key, chat, api, session, channel.Audit, "im:" + channel.Platform.WireName());
        var result = await relay.RelayAsync(request, cancellationToken).ConfigureAwait(false);
        await userLimits.CompleteAsync(userLease, result.Outcome, chat.Model, CancellationToken.None).ConfigureAwait(false);

        // :: Step 5 The answer, or what went wrong, goes back to the chat.
        var outcome = result.Outcome;
        switch (outcome.Kind)
        {
            case RelayOutcomeKind.Answered:
                var text = string.IsNullOrWhiteSpace(result.Text) ? ImNotices.EmptyAnswer : result.Text;
                await conversations.AppendAsync(channel.Id, inbound.ConversationId, inbound.Text, text, cancellationToken).ConfigureAwait(false);
                await ReplyAsync(channel, work, session, text, OutboundKind.Reply, null, cancellationToken).ConfigureAwait(false);
                return;
            case RelayOutcomeKind.ClientClosed:
                // Only our own shutdown cancels an in-process relay: leave the message to be delivered again.
                cancellationToken.ThrowIfCancellationRequested();
                throw new OperationCanceledException("the relay was cancelled");
            case RelayOutcomeKind.Refused:
                await ReplyAsync(channel, work, session, ImNotices.Refused(outcome.Error?.Message), OutboundKind.Notice, outcome.RecordedError, cancellationToken).ConfigureAwait(false);
                return;
            default:
                Log.RelayFailed(logger, channel.Id, inbound.MessageKey, outcome.Kind, outcome.Status);
                await ReplyAsync(channel, work, session, ImNotices.UpstreamFailed, OutboundKind.Notice, outcome.RecordedError, cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    internal static string ChannelUsageName(Channel channel) => "im:" + channel.Platform.WireName() + ":" + channel.Id;

    private static ChatRequest ChatOf(Channel channel, IReadOnlyList<ConversationTurn> turns, Platforms.InboundMessage inbound)
    {
        var messages = new List<ChatMessage>(turns.Count * 2 + 1);
        foreach (var turn in turns)
        {
            messages.Add(new ChatMessage(ChatRole.User, [new TextPart(turn.User)]));
            messages.Add(new ChatMessage(ChatRole.Assistant, [new TextPart(turn.Assistant)]));
        }

        messages.Add(new ChatMessage(ChatRole.User, [new TextPart(inbound.Text)]));
        return new ChatRequest
        {
            Model = channel.Model,
            System = string.IsNullOrWhiteSpace(channel.SystemPrompt) ? [] : [new TextPart(channel.SystemPrompt)],
            Messages = messages,
            User = inbound.UserId,
        };
    }

    /// <summary>Sends the text to <c>im-outbound</c>, then moves the row to answered (with the reason when it is a notice).</summary>
    private async Task ReplyAsync(Channel channel, InboundWork work, string session, string text, OutboundKind kind, string? reason, CancellationToken cancellationToken)
    {
        var reply = new OutboundReply(channel.Id, work.Message.MessageKey, work.Message.ReplyTo, text, kind);
        var message = ImMessageIds.Outbound(reply, session);
        if (!sender.Fits(message))
        {
            message = ImMessageIds.Outbound(reply with { Text = LongestFitting(reply, session) }, session);
            Log.ReplyCut(logger, channel.Id, work.Message.MessageKey, text.Length);
        }

        await sender.SendAsync(message, cancellationToken).ConfigureAwait(false);
        await pending.MarkAsync(channel.Id, work.Message.MessageKey, PendingState.Answered, reason, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The longest head of the reply's text that, with <see cref="ImNotices.Cut"/> after it, makes a message the queue
    /// takes, cut at a boundary as a platform's parts are (<see cref="ReplySplitter.Head"/>). NOTE: a reply the queue
    /// refused would fail the handling, and the message would come back to be answered (and billed) again until it is
    /// dead-lettered: a cut answer is the lesser harm.
    /// </summary>
    private string LongestFitting(OutboundReply reply, string session) =>
        ReplySplitter.Head(reply.Text, head => sender.Fits(ImMessageIds.Outbound(reply with { Text = head + ImNotices.Cut }, session))) + ImNotices.Cut;

    private static partial class Log
    {
        [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "ImProcess: channel {ChannelId} message {MessageKey} is already {State}")]
        public static partial void AlreadyHandled(ILogger logger, string channelId, string messageKey, PendingState state);

        [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "ImProcess: channel {ChannelId} message {MessageKey} not answered: {Kind} {Status}")]
        public static partial void RelayFailed(ILogger logger, string channelId, string messageKey, RelayOutcomeKind kind, int status);

        [LoggerMessage(EventId = 4013, Level = LogLevel.Warning, Message = "ImProcess: channel {ChannelId} message {MessageKey}: the answer ({Length} characters) is longer than a reply message can carry; it was cut")]
        public static partial void ReplyCut(ILogger logger, string channelId, string messageKey, int length);
    }
}
