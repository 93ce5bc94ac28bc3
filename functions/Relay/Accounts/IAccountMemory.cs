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
