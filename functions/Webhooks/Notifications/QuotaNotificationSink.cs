using Serverless.Relay.Limits;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// Quotas and budgets a key ran into. The limiter already reports each key, limit and window once per instance, so
/// this only posts to the backlog; the queue's duplicate detection drops a second instance's report of the same window.
/// </summary>
internal sealed class QuotaNotificationSink(NotificationBacklog backlog) : IKeyLimitEvents
{
    public void Raise(QuotaReached quotaReached) => backlog.Post(new NotificationCause.Quota(quotaReached));
}
