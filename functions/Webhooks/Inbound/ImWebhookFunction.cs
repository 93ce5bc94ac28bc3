using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Functions;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Messaging;
using Serverless.Webhooks.Pending;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Inbound;

/// <summary>
/// <c>/webhooks/{platform}/{channelId}</c>: a proxied HTTP function that accepts a platform's webhook and answers within
/// the platform's ack deadline (Feishu and Slack 3 s, WeCom 5 s). It never calls the LLM: it verifies on the raw body,
/// answers url-verification challenges, dedups on the platform's message key (the pending row is the marker), and hands
/// the message to <c>im-inbound</c>. A platform's retry of an accepted message gets a 2xx and nothing more.
/// </summary>
internal sealed partial class ImWebhookFunction(
    ChannelStore channels,
    ImPlatforms platforms,
    PendingMessages pending,
    IMessageSender sender,
    TimeProvider time,
    ILogger<ImWebhookFunction> logger) : IHttpFunction
{
    public const string FunctionName = "ImWebhook";

    /// <summary>Far above any platform's message size, far below the relay's chat limit: a webhook is a notification.</summary>
    internal const int MaxBodyBytes = 1024 * 1024;

    public string Name => FunctionName;

    public async Task InvokeAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        var platformName = context.Request.RouteValues["platform"] as string;
        var channelId = context.Request.RouteValues["channelId"] as string;

        // :: Step 1 The channel, on the platform its URL names. Unknown and disabled channels look the same from outside.
        if (platforms.Find(platformName) is not { } platform
            || channelId is null
            || await channels.GetAsync(channelId, aborted).ConfigureAwait(false) is not { Enabled: true } channel
            || channel.Platform != platform.Platform)
        {
            await AnswerAsync(context, StatusCodes.Status404NotFound, "no such channel").ConfigureAwait(false);
            return;
        }

        // :: Step 2 The raw bytes: every platform signs them exactly as sent.
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            await AnswerAsync(context, StatusCodes.Status413PayloadTooLarge, "webhook body too large").ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(context.Request, aborted).ConfigureAwait(false);
        if (body is null)
        {
            await AnswerAsync(context, StatusCodes.Status413PayloadTooLarge, "webhook body too large").ConfigureAwait(false);
            return;
        }

        // :: Step 3 Verify and read it.
        var now = time.GetUtcNow();
        var verdict = platform.Read(channel, new WebhookRequest(context.Request.Method, body.Value, context.Request.Headers, context.Request.Query), now);
        switch (verdict)
        {
            case WebhookVerdict.Challenge challenge:
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = challenge.ContentType;
                await context.Response.WriteAsync(challenge.Body, aborted).ConfigureAwait(false);
                return;
            case WebhookVerdict.Refused refused:
                Log.Refused(logger, channel.Id, platform.Platform, refused.Reason);
                await AnswerAsync(context, refused.Status, refused.Reason).ConfigureAwait(false);
                return;
            case WebhookVerdict.Ignored:
                await AnswerAsync(context, StatusCodes.Status200OK, null).ConfigureAwait(false);
                return;
        }

        var message = ((WebhookVerdict.Accepted)verdict).Message;
        if (message.IsGroup && !message.AddressedToBot)
        {
            // Group chatter not meant for the bot: acknowledged, not answered, not recorded.
            await AnswerAsync(context, StatusCodes.Status200OK, null).ConfigureAwait(false);
            return;
        }

        // :: Step 4 Dedup and record: the pending row is inserted only if absent, so a platform's retry stops here...
        if (!await pending.TryAcceptAsync(channel.Id, message, now, aborted).ConfigureAwait(false))
        {
            // ...unless the row is still queued: the instance that recorded it may have died before Step 5 (then the
            // platform got no 2xx and this is its retry). Sending it again is safe within the queue's duplicate
            // detection window: a second send of the same MessageId is dropped if the first one happened.
            if (await pending.GetAsync(channel.Id, message.MessageKey, aborted).ConfigureAwait(false) is not { State: PendingState.Queued } row
                || now - row.ReceivedAt >= ImMessageIds.DuplicateDetectionWindow)
            {
                Log.Duplicate(logger, channel.Id, message.MessageKey);
                await AnswerAsync(context, StatusCodes.Status200OK, null).ConfigureAwait(false);
                return;
            }

            await HandOnAsync(context, channel, message, row.ReceivedAt, forgetOnFailure: false).ConfigureAwait(false);
            return;
        }

        await HandOnAsync(context, channel, message, now, forgetOnFailure: true).ConfigureAwait(false);
    }

    /// <summary>
    /// :: Step 5 Hand it on to <c>im-inbound</c> and answer 2xx. If that fails a new row goes too, so the platform's retry
    /// is accepted instead of dropped; a row that was already there stays (its first send may have happened).
    /// </summary>
    private async Task HandOnAsync(HttpContext context, Channel channel, InboundMessage message, DateTimeOffset receivedAt, bool forgetOnFailure)
    {
        try
        {
            await sender.SendAsync(ImMessageIds.Inbound(channel.Id, message, receivedAt), context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.EnqueueFailed(logger, channel.Id, message.MessageKey, e);
            if (forgetOnFailure)
            {
                await pending.ForgetAsync(channel.Id, message.MessageKey, CancellationToken.None).ConfigureAwait(false);
            }

            context.Response.Headers.RetryAfter = "5";
            await AnswerAsync(context, StatusCodes.Status503ServiceUnavailable, "try again").ConfigureAwait(false);
            return;
        }

        await AnswerAsync(context, StatusCodes.Status200OK, null).ConfigureAwait(false);
    }

    private static async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Short plain-text answers: platforms read only the status, and nothing here may echo a secret.</summary>
    private static Task AnswerAsync(HttpContext context, int status, string? text)
    {
        context.Response.StatusCode = status;
        if (text is null)
        {
            return Task.CompletedTask;
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), context.RequestAborted).AsTask();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4000, Level = LogLevel.Warning, Message = "Webhook for channel {ChannelId} ({Platform}) refused: {Reason}")]
        public static partial void Refused(ILogger logger, string channelId, ImPlatform platform, string reason);

        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Webhook for channel {ChannelId}: message {MessageKey} already accepted and handed on")]
        public static partial void Duplicate(ILogger logger, string channelId, string messageKey);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Webhook for channel {ChannelId}: message {MessageKey} could not be queued; the platform will retry")]
        public static partial void EnqueueFailed(ILogger logger, string channelId, string messageKey, Exception exception);
    }
}
