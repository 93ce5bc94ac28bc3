using System.Globalization;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Admin;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// Turns an event into a notification: short text a person reads on a phone, the same facts as fields for a webhook,
/// and a key naming the occurrence. Names are looked up here, off the request path; a lookup that fails leaves the id.
/// Never a secret: ids, names, statuses, the relay's own error text (as the admin views show it), limits and times.
/// </summary>
internal sealed class NotificationComposer(AccountStore accounts, ClientKeyStore keys, IOptions<NotificationOptions> options)
{
    private const int MaxReasonLength = 300;

    public async Task<NotificationMessage> ComposeAsync(NotificationCause cause, CancellationToken cancellationToken) => cause switch
    {
        NotificationCause.Account account => await ComposeAsync(account.Event, cancellationToken).ConfigureAwait(false),
        NotificationCause.Quota quota => await ComposeAsync(quota.Event, cancellationToken).ConfigureAwait(false),
        _ => throw new ArgumentOutOfRangeException(nameof(cause), cause.GetType().Name, "unknown notification cause"),
    };

    private async Task<NotificationMessage> ComposeAsync(AccountEvent e, CancellationToken cancellationToken)
    {
        var name = await NameOrNullAsync(async ct => (await accounts.GetIfExistsAsync(e.AccountId, ct).ConfigureAwait(false))?.Account.Name, cancellationToken).ConfigureAwait(false);
        var who = name is null ? $"Account {e.AccountId}" : $"Account '{name}' ({e.AccountId})";
        var reason = e.Reason.Length <= MaxReasonLength ? e.Reason : e.Reason[..MaxReasonLength] + "…";
        var text = e.Status == AccountStatus.Disabled
            ? $"{who} is disabled: {reason}. It stays out of the pool until an admin updates it."
            : $"{who} circuit is open until {Time(e.Until)}: {reason}. Its requests go to other accounts meanwhile.";
        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["accountId"] = e.AccountId,
            ["status"] = PoolViews.StatusName(e.Status),
            ["reason"] = reason,
        };
        AddIfSet(fields, "accountName", name);
        AddIfSet(fields, "until", e.Until?.ToString("O", CultureInfo.InvariantCulture));

        // The throttle window's number in the key: another instance raising the same mark in the same window sends the
        // same message id, which the queue's duplicate detection drops.
        var window = Math.Max(1, (long)options.Value.Throttle.TotalSeconds);
        var key = $"account:{e.AccountId}:{PoolViews.StatusName(e.Status)}:{e.At.ToUnixTimeSeconds() / window}";
        return new NotificationMessage(NotificationTypes.AccountEvent, key, text, fields, e.At);
    }

    private async Task<NotificationMessage> ComposeAsync(QuotaReached e, CancellationToken cancellationToken)
    {
        var name = await NameOrNullAsync(async ct => (await keys.GetIfExistsAsync(e.KeyId, ct).ConfigureAwait(false))?.Name, cancellationToken).ConfigureAwait(false);
        var who = name is null ? $"Key {e.KeyId}" : $"Key '{name}' ({e.KeyId})";
        var amount = e.Rule.Metric == LimitMetric.Cost
            ? KeyLimits.ToUsd(e.Rule.Amount).ToString("0.######", CultureInfo.InvariantCulture) + " USD"
            : e.Rule.Amount.ToString(CultureInfo.InvariantCulture);
        var until = e.ResetsAt is null ? "until an admin raises it" : "until " + Time(e.ResetsAt);
        var text = $"{who} reached its {e.Rule.FieldName} limit of {amount}; its requests are refused {until}.";
        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["keyId"] = e.KeyId,
            ["limit"] = e.Rule.FieldName,
            ["amount"] = amount,
        };
        AddIfSet(fields, "keyName", name);
        AddIfSet(fields, "resetsAt", e.ResetsAt?.ToString("O", CultureInfo.InvariantCulture));
        var window = e.ResetsAt?.UtcTicks.ToString(CultureInfo.InvariantCulture) ?? "total";
        return new NotificationMessage(NotificationTypes.QuotaEvent, $"quota:{e.KeyId}:{e.Rule.FieldName}:{window}", text, fields, e.At);
    }

    private static async Task<string?> NameOrNullAsync(Func<CancellationToken, Task<string?>> read, CancellationToken cancellationToken)
    {
        try
        {
            return await read(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null; // the id says enough; a storage hiccup must not lose the notification
        }
    }

    private static void AddIfSet(Dictionary<string, string> fields, string name, string? value)
    {
        if (value is not null)
        {
            fields[name] = value;
        }
    }

    private static string Time(DateTimeOffset? at) =>
        at?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) ?? "further notice";
}
