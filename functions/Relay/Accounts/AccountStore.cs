using System.Diagnostics.CodeAnalysis;
using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Accounts;

/// <summary>An account as stored: its fields (<see cref="UpstreamAccount.ApiKey"/> null) and its encrypted key.</summary>
internal sealed record AccountRow(UpstreamAccount Account, string? ProtectedApiKey);

/// <summary>
/// The <c>{prefix}accounts</c> table: PK <c>account</c>, RK = id; columns Name, Provider (wire name), BaseUrl,
/// ApiVersion, Models and ModelMap (JSON), Priority, Enabled, Weight, MaxConcurrency, CreatedAt, ApiKey (<c>kid:base64</c>, see <see cref="SecretProtector"/>).
/// </summary>
internal sealed class AccountStore(RelayTables tables, SecretProtector protector)
{
    internal const string PartitionKey = "account";
    internal const string ApiKeyColumn = "ApiKey";
    private const int MaxUpdateAttempts = 5;

    /// <summary>Encrypts an API key bound to this account's row: it cannot be copied to another account.</summary>
    public string ProtectApiKey(string id, string apiKey) => protector.Protect(apiKey, ScopeOf(id));

    public bool TryUnprotectApiKey(string id, string stored, [NotNullWhen(true)] out string? apiKey, out SecretError error) =>
        protector.TryUnprotect(stored, ScopeOf(id), out apiKey, out error);

    public async Task CreateAsync(AccountRow row, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Accounts, cancellationToken);
        await table.AddEntityAsync(ToEntity(row), cancellationToken);
    }

    public async Task<AccountRow?> GetIfExistsAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Accounts, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, id, cancellationToken: cancellationToken);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    /// <summary>Every stored account, in creation order. Rows naming an unknown provider are left out.</summary>
    public async Task<IReadOnlyList<AccountRow>> ListAsync(CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Accounts, cancellationToken);
        var rows = new List<AccountRow>();
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {PartitionKey}"), cancellationToken: cancellationToken))
        {
            if (FromEntity(entity) is { } row)
            {
                rows.Add(row);
            }
        }

        rows.Sort((a, b) => a.Account.CreatedAt.CompareTo(b.Account.CreatedAt));
        return rows;
    }

    /// <summary>Read, change, write conditional on the ETag; retried when another writer got there first.</summary>
    public async Task<Parsed<AccountRow>> UpdateAsync(string id, Func<AccountRow, Parsed<AccountRow>> change, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Accounts, cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, id, cancellationToken: cancellationToken);
            if (!current.HasValue || FromEntity(current.Value!) is not { } row)
            {
                return NotFound(id);
            }

            var changed = change(row);
            if (!changed.IsSuccess)
            {
                return changed;
            }

            var updated = changed.Value! with { Account = changed.Value!.Account with { Id = id, ApiKey = null } };
            try
            {
                await table.UpdateEntityAsync(ToEntity(updated), current.Value!.ETag, TableUpdateMode.Replace, cancellationToken);
                return updated;
            }
            catch (RequestFailedException e) when (e.Status is 412 && attempt < MaxUpdateAttempts)
            {
                // Changed between our read and write: read again.
            }
            catch (RequestFailedException e) when (e.Status is 404)
            {
                return NotFound(id);
            }
        }
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Accounts, cancellationToken);
        // NOTE: read first: Azurite answers 204 to a delete of a missing entity with ETag '*', where Azure answers 404.
        var current = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, id, select: ["PartitionKey"], cancellationToken);
        if (!current.HasValue)
        {
            return false;
        }

        try
        {
            await table.DeleteEntityAsync(PartitionKey, id, ETag.All, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }

        return true;
    }

    internal static RelayError NotFound(string id) => new(ErrorKind.NotFound, $"no account has id '{id}'");

    private static string ScopeOf(string id) => SecretProtector.ScopeOf(RelayTables.Accounts, PartitionKey, id, ApiKeyColumn);

    private static TableEntity ToEntity(AccountRow row)
    {
        var account = row.Account;
        return new TableEntity(PartitionKey, account.Id)
        {
            ["Name"] = account.Name,
            ["Provider"] = account.Provider.WireName(),
            ["BaseUrl"] = account.BaseUrl,
            ["ApiVersion"] = account.ApiVersion,
            ["Models"] = StorageJson.WriteList(account.Models),
            ["ModelMap"] = StorageJson.WriteMap(account.ModelMap),
            ["Priority"] = account.Priority,
            ["Enabled"] = account.Enabled,
            ["Weight"] = account.Weight,
            ["MaxConcurrency"] = account.MaxConcurrency,
            ["CreatedAt"] = account.CreatedAt,
            [ApiKeyColumn] = row.ProtectedApiKey,
        };
    }

    private static AccountRow? FromEntity(TableEntity entity)
    {
        if (!ProviderKinds.TryParse(entity.GetString("Provider"), out var provider))
        {
            return null;
        }

        var account = new UpstreamAccount
        {
            Id = entity.RowKey,
            Name = entity.GetString("Name") ?? "",
            Provider = provider,
            BaseUrl = entity.GetString("BaseUrl"),
            ApiVersion = entity.GetString("ApiVersion"),
            Models = StorageJson.ReadList(entity.GetString("Models")),
            ModelMap = StorageJson.ReadMap(entity.GetString("ModelMap")),
            Priority = entity.GetInt32("Priority") ?? 0,
            Enabled = entity.GetBoolean("Enabled") ?? true,
            Weight = entity.GetInt32("Weight") ?? 1,
            MaxConcurrency = entity.GetInt32("MaxConcurrency"),
            CreatedAt = entity.GetDateTimeOffset("CreatedAt") ?? default,
        };
        return new AccountRow(account, entity.GetString(ApiKeyColumn));
    }
}
