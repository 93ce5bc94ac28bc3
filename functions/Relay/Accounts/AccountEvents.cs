using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Serverless.Relay.Accounts;

/// <summary>An account became unavailable (or available again): what later notification work sends.</summary>
/// <param name="Until">When the mark lapses; null for a disable, which lasts until an admin changes the account.</param>
internal sealed record AccountEvent(string AccountId, AccountStatus Status, DateTimeOffset At, DateTimeOffset? Until, string Reason);

/// <summary>
/// Where account events go. Must not block: it is called on the request path. Every registered sink gets every event
/// (register with <c>TryAddEnumerable</c>): the <see cref="AccountEventLog"/>, and notifications when the IM area is on.
/// </summary>
internal interface IAccountEventSink
{
    void Raise(AccountEvent accountEvent);
}

/// <summary>
/// The sinks <see cref="AccountHealth"/> raises to: each registered <see cref="IAccountEventSink"/> in turn. A sink that
/// throws is logged and skipped, so a bug in one (notifications) never fails the request that marked the account.
/// NOTE: not itself registered as a sink, or resolving all sinks would include it.
/// </summary>
internal sealed partial class AccountEventSinks(IReadOnlyList<IAccountEventSink> sinks, ILogger<AccountEventSinks> logger) : IAccountEventSink
{
    public void Raise(AccountEvent accountEvent)
    {
        foreach (var sink in sinks)
        {
            try
            {
                sink.Raise(accountEvent);
            }
            catch (Exception e)
            {
                Log.SinkFailed(logger, sink.GetType().Name, accountEvent.AccountId, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1625, Level = LogLevel.Error, Message = "Account event sink {Sink} failed for account {AccountId}")]
        public static partial void SinkFailed(ILogger logger, string sink, string accountId, Exception exception);
    }
}

/// <summary>The default sink: logs each event and keeps the latest ones for <c>GET /api/admin/accounts/events</c>.</summary>
internal sealed partial class AccountEventLog(ILogger<AccountEventLog> logger) : IAccountEventSink
{
    public const int Capacity = 200;

    private readonly ConcurrentQueue<AccountEvent> _recent = new();

    public void Raise(AccountEvent accountEvent)
    {
        Log.Marked(logger, accountEvent.AccountId, accountEvent.Status, accountEvent.Until, accountEvent.Reason);
        _recent.Enqueue(accountEvent);
        while (_recent.Count > Capacity && _recent.TryDequeue(out _))
        {
        }
    }

    /// <summary>The latest events, oldest first.</summary>
    public IReadOnlyList<AccountEvent> Recent => [.. _recent];

    private static partial class Log
    {
        [LoggerMessage(EventId = 1620, Level = LogLevel.Warning, Message = "Account {AccountId} is now {Status} until {Until}: {Reason}")]
        public static partial void Marked(ILogger logger, string accountId, AccountStatus status, DateTimeOffset? until, string reason);
    }
}
