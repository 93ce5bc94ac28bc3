using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Accounts;

namespace Serverless.Relay.Secrets;

/// <summary>What a rotation did.</summary>
internal sealed record RotationReport(int Rows, int Reencrypted, int AlreadyCurrent, IReadOnlyList<string> Unreadable);

/// <summary>
/// Re-encrypts every stored upstream secret (API keys, OAuth tokens, client secrets) under the current kid
/// (<c>RELAY_ENCRYPTION_KEY_ID</c>). The old kid must still be listed in <c>RELAY_ENCRYPTION_KEYS</c> while this runs,
/// so every instance keeps reading both; remove it only after a rotation reports nothing unreadable. Each row is
/// rewritten with an ETag condition, so a concurrent change (an OAuth refresh) is re-read, never overwritten.
/// </summary>
internal sealed partial class SecretRotation(AccountStore accounts, EncryptionKeyRing keys, ILogger<SecretRotation> logger)
{
    private const int MaxAttemptsPerRow = 5;

    public async Task<RotationReport> RotateAsync(CancellationToken cancellationToken)
    {
        int rows = 0, reencrypted = 0, current = 0;
        var unreadable = new List<string>();
        await foreach (var listed in accounts.ListEntitiesAsync(cancellationToken).ConfigureAwait(false))
        {
            rows++;
            var entity = listed;
            for (var attempt = 1; ; attempt++)
            {
                var (changes, upToDate, failed) = Reencrypt(entity);
                if (failed.Count > 0)
                {
                    unreadable.AddRange(failed.Select(column => $"{entity.RowKey}/{column}"));
                }

                if (changes.Count == 0)
                {
                    current += upToDate;
                    break;
                }

                if (await accounts.TryMergeAsync(entity.RowKey, entity.ETag, changes, cancellationToken).ConfigureAwait(false) is not null)
                {
                    reencrypted += changes.Count;
                    current += upToDate;
                    break;
                }

                // Changed since we read it: read again and redo the row.
                if (attempt == MaxAttemptsPerRow || await accounts.GetEntityIfExistsAsync(entity.RowKey, cancellationToken).ConfigureAwait(false) is not { } fresh)
                {
                    break;
                }

                entity = fresh;
            }
        }

        Log.Rotated(logger, keys.CurrentKeyId, rows, reencrypted, unreadable.Count);
        return new RotationReport(rows, reencrypted, current, unreadable);
    }

    private (Dictionary<string, object?> Changes, int UpToDate, List<string> Unreadable) Reencrypt(TableEntity entity)
    {
        var changes = new Dictionary<string, object?>();
        var unreadable = new List<string>();
        var upToDate = 0;
        foreach (var column in AccountStore.SecretColumns)
        {
            if (entity.GetString(column) is not { Length: > 0 } stored)
            {
                continue;
            }

            if (stored.StartsWith(keys.CurrentKeyId + ":", StringComparison.Ordinal))
            {
                upToDate++;
                continue;
            }

            if (!accounts.TryUnprotect(entity.RowKey, column, stored, out var plaintext, out _))
            {
                unreadable.Add(column);
                continue;
            }

            changes[column] = accounts.Protect(entity.RowKey, column, plaintext);
        }

        return (changes, upToDate, unreadable);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1640, Level = LogLevel.Information, Message = "Secrets rotated to key {KeyId}: {Rows} rows, {Reencrypted} secrets re-encrypted, {Unreadable} unreadable")]
        public static partial void Rotated(ILogger logger, string keyId, int rows, int reencrypted, int unreadable);
    }
}
