using System.Collections.Concurrent;

namespace Serverless.Relay.Accounts;

/// <summary>
/// What an instance keeps in memory per account (health marks, a decrypted access token). After each read of the
/// accounts table the <see cref="AccountDirectory"/> tells every registered one which accounts still exist (register
/// with <c>TryAddEnumerable</c>).
/// </summary>
/// <remarks>
/// NOTE: why. A deleted account is never asked for again, so nothing else would ever drop its entries: they stayed
/// until the process ended, on every instance, a decrypted token among them. Admins and automation that rotate
/// accounts by deleting and creating them grew each long-lived instance by one entry per account ever made.
/// </remarks>
internal interface IAccountMemory
{
    /// <summary>Drops what is kept for any account not in <paramref name="accountIds"/>. Called off the request path.</summary>
    void KeepOnly(IReadOnlySet<string> accountIds);
}

/// <summary>The one way an <see cref="IAccountMemory"/> keeps its per-account map to the accounts that exist.</summary>
internal static class AccountMemory
{
    /// <summary>Removes every entry of <paramref name="byAccount"/> whose account is not in <paramref name="accountIds"/>.</summary>
    public static void KeepOnly<T>(ConcurrentDictionary<string, T> byAccount, IReadOnlySet<string> accountIds)
    {
        // The enumerator takes no lock, so requests reading the map are not held up while it is swept.
        foreach (var (accountId, _) in byAccount)
        {
            if (!accountIds.Contains(accountId))
            {
                byAccount.TryRemove(accountId, out _);
            }
        }
    }
}
