using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// Account events worth waking someone for: a disabled account (401/403, a failed token refresh) and an open circuit.
/// Cool-downs are not: a 429 lapses on its own within minutes. One notification per account and status per
/// <see cref="NotificationOptions.Throttle"/> on this instance; the request path only posts to the backlog.
/// </summary>
internal sealed class AccountNotificationSink(NotificationBacklog backlog, IOptions<NotificationOptions> options, TimeProvider time) : IAccountEventSink
{
    private const int MaxRemembered = 10_000;

    private readonly ConcurrentDictionary<(string AccountId, AccountStatus Status), DateTimeOffset> _lastSent = new();

    public static bool Notifies(AccountStatus status) => status is AccountStatus.Disabled or AccountStatus.CircuitOpen;

    public void Raise(AccountEvent accountEvent)
    {
        if (!Notifies(accountEvent.Status) || !TryClaim((accountEvent.AccountId, accountEvent.Status), time.GetUtcNow()))
        {
            return;
        }

        backlog.Post(new NotificationCause.Account(accountEvent));
    }

    /// <summary>True when nothing was sent for this account and status within the throttle window (and claims it).</summary>
    private bool TryClaim((string, AccountStatus) key, DateTimeOffset now)
    {
        var window = options.Value.Throttle;
        while (true)
        {
            if (!_lastSent.TryGetValue(key, out var last))
            {
                if (_lastSent.TryAdd(key, now))
                {
                    Forget(now - window);
                    return true;
                }

                continue;
            }

            if (now - last < window)
            {
                return false;
            }

            if (_lastSent.TryUpdate(key, now, last))
            {
                return true;
            }
        }
    }

    /// <summary>Keeps the map bounded: claims older than the window no longer throttle anything.</summary>
    private void Forget(DateTimeOffset before)
    {
        if (_lastSent.Count <= MaxRemembered)
        {
            return;
        }

        foreach (var (key, at) in _lastSent)
        {
            if (at < before)
            {
                _lastSent.TryRemove(key, out _);
            }
        }
    }
}
