using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms;

/// <summary>A channel's platform access token as stored: the token, when it expires, and which credentials issued it.</summary>
internal sealed record StoredPlatformToken(string? Token, DateTimeOffset ExpiresAt, string? Issuer);

/// <summary>
/// The <c>imtokens</c> table: one row per channel (partition = platform, row = channel id) holding its access token,
/// encrypted like every secret at rest, and the refresh lease columns <see cref="RefreshLease"/> works with.
/// </summary>
internal sealed class PlatformTokenStore(RelayTables tables, SecretProtector protector)
{
    public const string Table = "imtokens";

    private const string TokenColumn = "Token";
    private const string ExpiresAtColumn = "ExpiresAt";
    private const string IssuerColumn = "Issuer";
    private const string LeaseOwnerColumn = "LeaseOwner";
    private const string LeaseUntilColumn = "LeaseUntil";

    /// <summary>
    /// The token, for key rotation. A cache: a token no key reads is deleted by the rotation (the next caller fetches a
    /// new one, as <see cref="ReadAsync"/> does for it anyway), never reported as unreadable.
    /// </summary>
    internal static readonly EncryptedColumns EncryptedColumns = new(Table, [TokenColumn], IsCache: true);

    public async Task<LeaseView<StoredPlatformToken>> ReadAsync(Channel channel, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionOf(channel), channel.Id, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!response.HasValue || response.Value is not { } entity)
        {
            return default;
        }

        // A token that does not decrypt (a rotated-out key) reads as no token: the next caller simply fetches a new one.
        string? token = null;
        if (entity.GetString(TokenColumn) is { } stored)
        {
            _ = protector.TryUnprotect(stored, ScopeOf(channel), out token, out _);
        }

        var row = new StoredPlatformToken(token, entity.GetDateTimeOffset(ExpiresAtColumn) ?? DateTimeOffset.MinValue, entity.GetString(IssuerColumn));
        return new LeaseView<StoredPlatformToken>(row, entity.ETag, entity.GetString(LeaseOwnerColumn), entity.GetDateTimeOffset(LeaseUntilColumn));
    }

    /// <summary>Takes the refresh lease (inserting the row when there is none); the new ETag, or null when another writer won.</summary>
    public async Task<ETag?> TryLeaseAsync(Channel channel, LeaseView<StoredPlatformToken> view, string owner, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(PartitionOf(channel), channel.Id) { [LeaseOwnerColumn] = owner, [LeaseUntilColumn] = until };
        try
        {
            var response = view.ETag is { } etag
                ? await table.UpdateEntityAsync(entity, etag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false)
                : await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            return response.Headers.ETag;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412 or 404)
        {
            return null;
        }
    }

    /// <summary>Stores a new token and releases the lease in one conditional write; false when the lease was lost meanwhile.</summary>
    public Task<bool> TryStoreAsync(Channel channel, ETag leased, string token, DateTimeOffset expiresAt, string issuer, CancellationToken cancellationToken) =>
        TryReplaceAsync(channel, leased, new TableEntity(PartitionOf(channel), channel.Id)
        {
            [TokenColumn] = protector.Protect(token, ScopeOf(channel)),
            [ExpiresAtColumn] = expiresAt,
            [IssuerColumn] = issuer,
        }, cancellationToken);

    /// <summary>Releases the lease after a failed fetch, keeping no token (a token the platform refused is not worth keeping).</summary>
    public Task<bool> TryReleaseAsync(Channel channel, ETag leased, CancellationToken cancellationToken) =>
        TryReplaceAsync(channel, leased, new TableEntity(PartitionOf(channel), channel.Id), cancellationToken);

    /// <summary>Deletes the channel's row, token and lease; a row already gone is not an error.</summary>
    public async Task DeleteAsync(Channel channel, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            await table.DeleteEntityAsync(PartitionOf(channel), channel.Id, ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    private async Task<bool> TryReplaceAsync(Channel channel, ETag leased, TableEntity entity, CancellationToken cancellationToken)
    {
        // NOTE: Replace, not Merge: a merge cannot clear the lease columns (null properties are not sent).
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            await table.UpdateEntityAsync(entity, leased, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 412 or 404)
        {
            return false;
        }
    }

    private static string PartitionOf(Channel channel) => channel.Platform.ToString().ToLowerInvariant();

    private static string ScopeOf(Channel channel) => SecretProtector.ScopeOf(Table, PartitionOf(channel), channel.Id, TokenColumn);
}
