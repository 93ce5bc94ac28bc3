namespace Serverless.Relay.Secrets;

/// <summary>
/// The columns of a table that hold secrets encrypted with <see cref="SecretProtector"/>, each scoped to its table,
/// partition, row and column: what <see cref="SecretRotation"/> re-encrypts under a new key. Every store that encrypts
/// registers its own (<see cref="SecretsServiceCollectionExtensions.AddEncryptedColumns"/>), so a rotation cannot miss a
/// table whose owner it does not know (Relay does not reference the projects built on it).
/// </summary>
/// <param name="Table">The table's base name, as in the scope (<see cref="SecretProtector.ScopeOf"/>), not the prefixed one.</param>
/// <param name="Columns">Every column of the table that holds an encrypted secret.</param>
/// <param name="IsCache">
/// The rows are a cache of something fetched again when missing (a platform access token): a row whose secret no listed
/// key can read is deleted rather than reported, so dropping an old key never leaves an operator an unreadable row to fix.
/// </param>
internal sealed record EncryptedColumns(string Table, IReadOnlyList<string> Columns, bool IsCache = false);
