using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// The background side of notifications: takes events from the <see cref="NotificationBacklog"/>, composes each once
/// and queues it for every enabled target that wants its kind. A failure is logged and the next event goes on: the
/// request path never waits for this, and this never waits for a target (ImDeliver does the sending).
/// </summary>
internal sealed partial class NotificationDispatcher(
    NotificationBacklog backlog,
    NotificationComposer composer,
    NotificationStore targets,
    NotificationOutbox outbox,
    ILogger<NotificationDispatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var cause in backlog.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await DispatchAsync(cause, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task DispatchAsync(NotificationCause cause, CancellationToken cancellationToken)
    {
        try
        {
            var message = await composer.ComposeAsync(cause, cancellationToken).ConfigureAwait(false);
            foreach (var target in await targets.ListCachedAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!target.Enabled || !target.WantsEvent(message.Event))
                {
                    continue;
                }

                try
                {
                    await outbox.SendAsync(target, message, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    Log.QueueFailed(logger, message.Key, target.Id, e);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.DispatchFailed(logger, cause.GetType().Name, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4121, Level = LogLevel.Error, Message = "Queueing notification {Key} for target {TargetId} failed")]
        public static partial void QueueFailed(ILogger logger, string key, string targetId, Exception exception);

        [LoggerMessage(EventId = 4122, Level = LogLevel.Error, Message = "A {Cause} notification could not be dispatched")]
        public static partial void DispatchFailed(ILogger logger, string cause, Exception exception);
    }
}
