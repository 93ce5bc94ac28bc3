using System.Diagnostics.CodeAnalysis;
using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Accounts;

/// <summary>An account as stored: its fields (<see cref="UpstreamAccount.ApiKey"/> null) and its encrypted key.</summary>
internal sealed record AccountRow(UpstreamAccount Account, string? ProtectedApiKey, OAuthSecrets? OAuth = null);

/// <summary>The plaintext OAuth credentials of a new account; the store encrypts them.</summary>
internal sealed record OAuthCredentials(string AccessToken, string RefreshToken, string? ClientSecret, DateTimeOffset ExpiresAt, OAuthSettings Settings);

/// <summary>An account row with its ETag and refresh lease, for the OAuth refresher's conditional writes.</summary>
internal sealed record AccountLeaseState(AccountRow Row, ETag ETag, string? LeaseOwner, DateTimeOffset? LeaseUntil);

/// <summary>
/// The <c>{prefix}accounts</c> table: PK <c>account</c>, RK = id; columns Name, Provider (wire name), BaseUrl,
/// ApiVersion, Models and ModelMap (JSON), Priority, Enabled, Weight, MaxConcurrency, CreatedAt, ApiKey (<c>kid:base64</c>, see <see cref="SecretProtector"/>).
/// </summary>
internal sealed class AccountStore(RelayTables tables, SecretProtector protector)
{
    internal const string PartitionKey = "account";
    internal const string ApiKeyColumn = "ApiKey";
    internal const string AccessTokenColumn = "OAuthAccessToken";
    internal const string RefreshTokenColumn = "OAuthRefreshToken";
    internal const string ClientSecretColumn = "OAuthClientSecret";
    internal const string ExpiresAtColumn = "OAuthExpiresAt";
    internal const string LastRefreshErrorColumn = "OAuthLastError";
    internal const string LeaseOwnerColumn = "RefreshLeaseOwner";
    internal const string LeaseUntilColumn = "RefreshLeaseUntil";

    /// <summary>Every column that holds a secret, for key rotation.</summary>
    internal static readonly EncryptedColumns EncryptedColumns = new(RelayTables.Accounts, [ApiKeyColumn, AccessTokenColumn, RefreshTokenColumn, ClientSecretColumn]);
    private readonly RecordTable<AccountRow> _records = new(tables, new RecordShape<AccountRow>(
        RelayTables.Accounts,
        PartitionKey,
        ToEntity,
        FromEntity,
        row => row.Account.CreatedAt,
        (stored, changed) => changed with { Account = changed.Account with { Id = stored.Account.Id, ApiKey = null } },
        NotFound));

    /// <summary>Encrypts an API key bound to this account's row: it cannot be copied to another account.</summary>
    public string ProtectApiKey(string id, string apiKey) => protector.Protect(apiKey, ScopeOf(id));

    public bool TryUnprotectApiKey(string id, string stored, [NotNullWhen(true)] out string? apiKey, out SecretError error) =>
        protector.TryUnprotect(stored, ScopeOf(id), out apiKey, out error);

    /// <summary>Encrypts a secret bound to one column of this account's row.</summary>
    public string Protect(string id, string column, string plaintext) => protector.Protect(plaintext, ScopeOf(id, column));

    public bool TryUnprotect(string id, string column, string stored, [NotNullWhen(true)] out string? plaintext, out SecretError error) =>
        protector.TryUnprotect(stored, ScopeOf(id, column), out plaintext, out error);

    /// <summary>The row with its ETag and refresh lease; null when the account is gone.</summary>
    public async Task<AccountLeaseState?> GetLeaseStateAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Accounts, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, id, cancellationToken: cancellationToken);
        if (!response.HasValue || FromEntity(response.Value!) is not { } row)
        {
            return null;
        }

        var entity = response.Value!;
        return new AccountLeaseState(row, entity.ETag, entity.GetString(LeaseOwnerColumn), entity.GetDateTimeOffset(LeaseUntilColumn));
    }

    /// <summary>Merges <paramref name="columns"/> into the row if it still has <paramref name="etag"/>; the new ETag, or null when another writer got there first.</summary>
    public async Task<ETag?> TryMergeAsync(string id, ETag etag, IReadOnlyDictionary<string, object?> columns, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Accounts, cancellationToken);
        var entity = new TableEntity(PartitionKey, id);
        foreach (var (column, value) in columns)
        {
            entity[column] = value;
        }

        try
        {
            var response = await table.UpdateEntityAsync(entity, etag, TableUpdateMode.Merge, cancellationToken);
            return response.Headers.ETag;
        }
        catch (RequestFailedException e) when (e.Status is 412 or 404)
        {
            return null;
        }
    }

    internal static string ScopeOf(string id, string column) => SecretProtector.ScopeOf(RelayTables.Accounts, PartitionKey, id, column);

    public Task CreateAsync(AccountRow row, CancellationToken cancellationToken) => _records.CreateAsync(row, cancellationToken);

    /// <summary>Stores a new account with its credentials, encrypting every secret here (the caller never sees a column).</summary>
    public async Task<AccountRow> CreateAsync(UpstreamAccount account, string? apiKey, OAuthCredentials? oauth, CancellationToken cancellationToken)
    {
        var id = account.Id;
        var secrets = oauth is null
            ? null
            : new OAuthSecrets(
                Protect(id, AccessTokenColumn, oauth.AccessToken),
                Protect(id, RefreshTokenColumn, oauth.RefreshToken),
                oauth.ClientSecret is null ? null : Protect(id, ClientSecretColumn, oauth.ClientSecret),
                oauth.ExpiresAt);
        var row = new AccountRow(account with { OAuth = oauth?.Settings ?? account.OAuth }, apiKey is null ? null : ProtectApiKey(id, apiKey), secrets);
        await CreateAsync(row, cancellationToken);
        return row;
    }

    /// <summary>
    /// Changes an account's fields and, when <paramref name="apiKey"/> is set, replaces its API key (encrypted here; a
    /// null value removes it). <paramref name="change"/> sees the stored row and whether the account will have a credential.
    /// </summary>
    public Task<Result<AccountRow>> UpdateAsync(string id, Func<AccountRow, bool, Result<UpstreamAccount>> change, (bool IsSet, string? Value) apiKey, CancellationToken cancellationToken) =>
        UpdateAsync(id, row =>
        {
            var hasCredential = (apiKey.IsSet ? apiKey.Value is not null : row.ProtectedApiKey is not null) || row.OAuth is not null;
            var changed = change(row, hasCredential);
            if (!changed.IsSuccess)
            {
                return changed.Error!;
            }

            var protectedKey = !apiKey.IsSet ? row.ProtectedApiKey : apiKey.Value is null ? null : ProtectApiKey(id, apiKey.Value);
            return new AccountRow(changed.Value!, protectedKey, row.OAuth);
        }, cancellationToken);

    public Task<AccountRow?> GetIfExistsAsync(string id, CancellationToken cancellationToken) => _records.GetAsync(id, cancellationToken);

    /// <summary>Every stored account, in creation order. Rows naming an unknown provider are left out.</summary>
    public Task<IReadOnlyList<AccountRow>> ListAsync(CancellationToken cancellationToken) => _records.ListAsync(cancellationToken);

    /// <summary>Read, change, write conditional on the ETag; the stored key stays encrypted, never in the account.</summary>
    public Task<Result<AccountRow>> UpdateAsync(string id, Func<AccountRow, Result<AccountRow>> change, CancellationToken cancellationToken) =>
        _records.UpdateAsync(id, change, cancellationToken);

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) => _records.DeleteAsync(id, cancellationToken);

    internal static RelayError NotFound(string id) => new(ErrorKind.NotFound, $"no account has id '{id}'");

    private static string ScopeOf(string id) => ScopeOf(id, ApiKeyColumn);

    private static TableEntity ToEntity(AccountRow row)
    {
        var account = row.Account;
        var entity = new TableEntity(PartitionKey, account.Id)
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
        if (account.OAuth is { } oauth && row.OAuth is { } secrets)
        {
            entity["OAuthTokenUrl"] = oauth.TokenUrl;
            entity["OAuthClientId"] = oauth.ClientId;
            entity["OAuthFormat"] = OAuthSettings.WireName(oauth.Format);
            entity[AccessTokenColumn] = secrets.ProtectedAccessToken;
            entity[RefreshTokenColumn] = secrets.ProtectedRefreshToken;
            entity[ClientSecretColumn] = secrets.ProtectedClientSecret;
            entity[ExpiresAtColumn] = secrets.ExpiresAt;
            entity[LastRefreshErrorColumn] = secrets.LastRefreshError;
        }

        return entity;
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
        OAuthSecrets? secrets = null;
        if (entity.GetString(AccessTokenColumn) is { } accessToken && entity.GetString("OAuthTokenUrl") is { } tokenUrl)
        {
            account = account with
            {
                OAuth = new OAuthSettings(tokenUrl, entity.GetString("OAuthClientId") ?? "", entity.GetString("OAuthFormat") == "json" ? TokenRequestFormat.Json : TokenRequestFormat.Form),
            };
            secrets = new OAuthSecrets(
                accessToken, entity.GetString(RefreshTokenColumn), entity.GetString(ClientSecretColumn),
                entity.GetDateTimeOffset(ExpiresAtColumn) ?? DateTimeOffset.MinValue, entity.GetString(LastRefreshErrorColumn));
        }

        return new AccountRow(account, entity.GetString(ApiKeyColumn), secrets);
    }
}
