using Microsoft.Extensions.Logging;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Accounts;

/// <summary>
/// A snapshot of every account with keys decrypted, refreshed at most every 5 s (<see cref="StorageSnapshot{T}"/>: shared
/// loads, a refresh ahead while in use, the previous snapshot served through a storage outage); admin changes on this
/// instance call <see cref="Invalidate"/>. Each read tells the <see cref="IAccountMemory"/> services which accounts
/// still exist.
/// </summary>
internal sealed partial class AccountDirectory : IAccountDirectory
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);

    private readonly AccountStore _store;
    private readonly ILogger<AccountDirectory> _logger;
    private readonly IReadOnlyList<IAccountMemory> _memories;
    private readonly StorageSnapshot<IReadOnlyList<UpstreamAccount>> _snapshot;

    public AccountDirectory(AccountStore store, HotPathStorage hotPath, TimeProvider time, ILogger<AccountDirectory> logger, IReadOnlyList<IAccountMemory> memories)
    {
        _store = store;
        _logger = logger;
        _memories = memories;
        _snapshot = new StorageSnapshot<IReadOnlyList<UpstreamAccount>>("the account directory", Ttl, ReadAsync, hotPath, time, logger);
    }

    public ValueTask<IReadOnlyList<UpstreamAccount>> GetAllAsync(CancellationToken cancellationToken) => _snapshot.GetAsync(cancellationToken);

    /// <summary>The next call reads storage again; a refresh already under way is not reused.</summary>
    public void Invalidate() => _snapshot.Invalidate();

    private async Task<IReadOnlyList<UpstreamAccount>> ReadAsync(CancellationToken cancellationToken)
    {
        var rows = await _store.ListAsync(cancellationToken).ConfigureAwait(false);
        var accounts = new List<UpstreamAccount>(rows.Count);
        var ids = new HashSet<string>(rows.Count, StringComparer.Ordinal);
        foreach (var row in rows)
        {
            // An account skipped below for an unreadable secret still exists: what is kept for it stays.
            ids.Add(row.Account.Id);
            var account = row.Account;
            if (row.ProtectedApiKey is not null)
            {
                if (!_store.TryUnprotectApiKey(account.Id, row.ProtectedApiKey, out var apiKey, out var error))
                {
                    // One unreadable secret (a removed kid, a tampered row) skips that account, not the directory.
                    Log.SecretUnreadable(_logger, account.Id, error);
                    continue;
                }

                account = account with { ApiKey = apiKey };
            }

            accounts.Add(account);
        }

        accounts.Sort((a, b) => b.Priority != a.Priority ? b.Priority.CompareTo(a.Priority) : string.CompareOrdinal(a.Id, b.Id));
        foreach (var memory in _memories)
        {
            memory.KeepOnly(ids);
        }

        Log.Refreshed(_logger, accounts.Count);
        return accounts;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1200, Level = LogLevel.Debug, Message = "Account directory refreshed: {Count} accounts")]
        public static partial void Refreshed(ILogger logger, int count);

        [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "The API key of account {AccountId} cannot be decrypted ({Reason}); the account is skipped")]
        public static partial void SecretUnreadable(ILogger logger, string accountId, SecretError reason);
    }
}
