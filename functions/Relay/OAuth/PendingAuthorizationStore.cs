using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;
using Serverless.Relay.Accounts;

namespace Serverless.Relay.OAuth;

/// <summary>An authorization started and not yet completed. <see cref="ProtectedVerifier"/> and <see cref="ProtectedClientSecret"/> are encrypted.</summary>
internal sealed record PendingAuthorization(
    string State, string AccountJson, OAuthSettings Settings, string RedirectUri, string ProtectedVerifier, string? ProtectedClientSecret,
    DateTimeOffset ExpiresAt, ETag ETag = default);

/// <summary>
/// The <c>{prefix}oauthpending</c> table: PK <c>pending</c>, RK = state. Storage rather than memory because the user's
/// callback may reach another instance than the one that started the authorization. Rows live
/// <see cref="OAuthOptions.AuthorizationTtl"/>; a completion deletes its row, conditional on its ETag, so a state works once.
/// NOTE: key rotation does not re-encrypt these rows: they outlive no key ring change that keeps the old key for a few minutes.
/// </summary>
internal sealed class PendingAuthorizationStore(RelayTables tables, SecretProtector protector)
{
    internal const string Table = "oauthpending";
    internal const string PartitionKey = "pending";
    internal const string VerifierColumn = "CodeVerifier";
    internal const string ClientSecretColumn = "ClientSecret";
    private const int MaxSweptPerCall = 50;

    public string Protect(string state, string column, string plaintext) => protector.Protect(plaintext, ScopeOf(state, column));

    public bool TryUnprotect(string state, string column, string stored, out string? plaintext) =>
        protector.TryUnprotect(stored, ScopeOf(state, column), out plaintext, out _);

    public async Task CreateAsync(PendingAuthorization pending, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        await table.AddEntityAsync(
            new TableEntity(PartitionKey, pending.State)
            {
                ["Account"] = pending.AccountJson,
                ["TokenUrl"] = pending.Settings.TokenUrl,
                ["ClientId"] = pending.Settings.ClientId,
                ["Format"] = OAuthSettings.WireName(pending.Settings.Format),
                ["RedirectUri"] = pending.RedirectUri,
                [VerifierColumn] = pending.ProtectedVerifier,
                [ClientSecretColumn] = pending.ProtectedClientSecret,
                ["ExpiresAt"] = pending.ExpiresAt,
            },
            cancellationToken);
    }

    /// <summary>The pending authorization with its ETag; null when there is none under that state.</summary>
    public async Task<PendingAuthorization?> GetIfExistsAsync(string state, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, state, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }

        var entity = response.Value!;
        return new PendingAuthorization(
            state,
            entity.GetString("Account") ?? "{}",
            new OAuthSettings(entity.GetString("TokenUrl") ?? "", entity.GetString("ClientId") ?? "", entity.GetString("Format") == "json" ? TokenRequestFormat.Json : TokenRequestFormat.Form),
            entity.GetString("RedirectUri") ?? "",
            entity.GetString(VerifierColumn) ?? "",
            entity.GetString(ClientSecretColumn),
            entity.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue,
            entity.ETag);
    }

    /// <summary>Deletes the row if it still has <paramref name="etag"/>: true for exactly one caller.</summary>
    public async Task<bool> TryConsumeAsync(string state, ETag etag, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        try
        {
            await table.DeleteEntityAsync(PartitionKey, state, etag, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>Deletes some rows that expired unused (abandoned authorizations); best effort.</summary>
    public async Task SweepExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PartitionKey} and ExpiresAt lt {now}");
        var swept = 0;
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: MaxSweptPerCall, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            await TryConsumeAsync(entity.RowKey, ETag.All, cancellationToken);
            if (++swept >= MaxSweptPerCall)
            {
                break;
            }
        }
    }

    private static string ScopeOf(string state, string column) => SecretProtector.ScopeOf(Table, PartitionKey, state, column);
}
