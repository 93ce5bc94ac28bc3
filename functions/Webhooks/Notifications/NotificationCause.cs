using Serverless.Relay.Accounts;
using Serverless.Relay.Limits;

namespace Serverless.Webhooks.Notifications;

/// <summary>What a notification is about, as raised on the request path (names are looked up later, off it).</summary>
internal abstract record NotificationCause
{
    internal sealed record Account(AccountEvent Event) : NotificationCause;

    internal sealed record Quota(QuotaReached Event) : NotificationCause;
}
