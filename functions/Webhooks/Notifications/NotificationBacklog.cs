using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// Hands events from the request path to <see cref="NotificationDispatcher"/>: a bounded in-memory channel whose
/// writes never wait; when it is full the oldest event is dropped and logged (an outage that fills it is already
/// being reported by the events ahead of it).
/// </summary>
internal sealed partial class NotificationBacklog
{
    private readonly Channel<NotificationCause> _channel;

    public NotificationBacklog(IOptions<NotificationOptions> options, ILogger<NotificationBacklog> logger)
    {
        _channel = Channel.CreateBounded<NotificationCause>(
            new BoundedChannelOptions(options.Value.Backlog) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => Log.Dropped(logger, dropped.GetType().Name));
    }

    public ChannelReader<NotificationCause> Reader => _channel.Reader;

    /// <summary>Never blocks.</summary>
    public void Post(NotificationCause cause) => _channel.Writer.TryWrite(cause);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4120, Level = LogLevel.Warning, Message = "Notification backlog full: the oldest {Cause} event was dropped")]
        public static partial void Dropped(ILogger logger, string cause);
    }
}
