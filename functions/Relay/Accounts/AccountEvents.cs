using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Serverless.Relay.Accounts;

/// <summary>An account became unavailable (or available again): what later notification work sends.</summary>
/// <param name="Until">When the mark lapses; null for a disable, which lasts until an admin changes the account.</param>
internal sealed record AccountEvent(string AccountId, AccountStatus Status, DateTimeOffset At, DateTimeOffset? Until, string Reason);

/// <summary>Where account events go. Must not block: it is called on the request path.</summary>
internal interface IAccountEventSink
{
    void Raise(AccountEvent accountEvent);
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
