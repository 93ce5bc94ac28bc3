using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Accounts;
using Serverless.Relay.Storage;
using Serverless.Relay.Secrets;

namespace Serverless.Relay.Accounts;

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

            // The listed row is the first read; a conflict (changed since, e.g. by an OAuth refresh) reads it again.
            TableEntity? first = listed;
            try
            {
                await ETagUpdate.RunAsync<bool>(
                    async token =>
                    {
                        var read = first ?? await accounts.GetEntityIfExistsAsync(listed.RowKey, token).ConfigureAwait(false);
                        first = null;
                        return read;
                    },
                    async (entity, token) =>
                    {
                        if (entity is null)
                        {
                            return ETagWrite.Done(false); // deleted meanwhile: nothing left to rotate
                        }

                        var (changes, upToDate, failed) = Reencrypt(entity);
                        if (changes.Count > 0 && await accounts.TryMergeAsync(entity.RowKey, entity.ETag, changes, token).ConfigureAwait(false) is null)
                        {
                            return default;
                        }

                        unreadable.AddRange(failed.Select(column => $"{entity.RowKey}/{column}"));
                        reencrypted += changes.Count;
                        current += upToDate;
                        return ETagWrite.Done(true);
                    },
                    cancellationToken,
                    MaxAttemptsPerRow).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                // Kept changing: left under its old key for the next rotation, which an operator runs until all is current.
                Log.RowSkipped(logger, listed.RowKey);
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
        [LoggerMessage(EventId = 1648, Level = LogLevel.Warning, Message = "Account {AccountId} kept changing during rotation and was left under its old key")]
        public static partial void RowSkipped(ILogger logger, string accountId);

        [LoggerMessage(EventId = 1640, Level = LogLevel.Information, Message = "Secrets rotated to key {KeyId}: {Rows} rows, {Reencrypted} secrets re-encrypted, {Unreadable} unreadable")]
        public static partial void Rotated(ILogger logger, string keyId, int rows, int reencrypted, int unreadable);
    }
}
