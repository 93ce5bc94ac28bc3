using System.Buffers.Binary;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;
using Serverless.Relay.Storage.Batches;

namespace Serverless.Relay.Audit;

/// <summary>A page of audit rows, oldest first, and the opaque token of the next page (null: no more).</summary>
internal sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, string? Continuation);

/// <summary>An audit row with its bodies read back: each decrypted and checked against the row's digest.</summary>
internal sealed record AuditRecord(AuditEntry Entry, byte[]? Request, byte[]? Response, bool RequestMatches, bool ResponseMatches, string? BodiesError);

/// <summary>
/// The audit trail in storage: one row per request in the <c>audit</c> table (partition = key id, row = request id),
/// and, for a full audit, the bodies in one blob, encrypted with the secrets' key ring (scope: the blob's name, so a
/// blob copied under another name does not decrypt). Written by the usage writer, off the request path.
/// </summary>
internal sealed class AuditTrail(RelayTables tables, RelayBlobs blobs, SecretProtector protector)
{
    /// <summary>The columns <see cref="ToRow"/> sets.</summary>
    private const int RowColumns = 16;

    private const string Scope = "audit/";

    /// <summary>Encrypts the bodies and stores them; returns the blob's name for the row.</summary>
    public async Task<string> SaveBodiesAsync(AuditEntry entry, AuditBodies bodies, CancellationToken cancellationToken)
    {
        var name = AuditKeys.BlobNameOf(AuditKeys.TimeOf(entry.RequestId) ?? entry.At, entry.RequestId);
        var plain = new byte[sizeof(int) + bodies.Request.Length + bodies.Response.Length];
        BinaryPrimitives.WriteInt32LittleEndian(plain, bodies.Request.Length);
        bodies.Request.Span.CopyTo(plain.AsSpan(sizeof(int)));
        bodies.Response.Span.CopyTo(plain.AsSpan(sizeof(int) + bodies.Request.Length));
        var sealedBytes = protector.ProtectBytes(plain, Scope + name);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(plain);

        var container = await blobs.GetAsync(RelayBlobs.Audit, cancellationToken).ConfigureAwait(false);
        await container.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(sealedBytes), overwrite: true, cancellationToken).ConfigureAwait(false);
        return name;
    }

    public static TableRow ToRow(AuditEntry entry) => new(TableRows.SafeKey(entry.KeyId), TableRows.SafeKey(entry.RequestId), RowColumns)
    {
        ["RequestId"] = entry.RequestId,
        ["KeyId"] = entry.KeyId,
        ["Owner"] = entry.Owner,
        ["AccountId"] = entry.AccountId,
        ["ClientApi"] = entry.ClientApi,
        ["Model"] = entry.Model,
        ["UpstreamModel"] = entry.UpstreamModel,
        ["Status"] = entry.Status,
        ["ClientAddress"] = entry.Facts.ClientAddress,
        ["RequestSha256"] = entry.Facts.RequestSha256?.ToString(),
        ["RequestBytes"] = entry.Facts.RequestBytes,
        ["ResponseSha256"] = entry.Facts.ResponseSha256?.ToString(),
        ["ResponseBytes"] = entry.Facts.ResponseBytes,
        ["BodiesBlob"] = entry.BodiesBlob,
        ["BodiesTruncated"] = entry.BodiesBlob is null ? null : entry.BodiesTruncated,
        // NOTE: 'Timestamp' is the service's own last-modified column and cannot be written.
        ["RequestTime"] = entry.At,
    };

    /// <summary>Rows of one key (or of all, a scan across keys) whose request started in [from, to), oldest first per key.</summary>
    public async Task<AuditPage> ListAsync(string? keyId, DateTimeOffset from, DateTimeOffset to, int limit, string? continuation, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Audit, cancellationToken).ConfigureAwait(false);
        var (low, high) = (AuditKeys.RowKeyBound(from), AuditKeys.RowKeyBound(to));
        var filter = keyId is null
            ? TableClient.CreateQueryFilter($"RowKey ge {low} and RowKey lt {high}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {TableRows.SafeKey(keyId)} and RowKey ge {low} and RowKey lt {high}");
        await foreach (var page in table.QueryAsync<TableEntity>(filter, limit, cancellationToken: cancellationToken).AsPages(continuation, limit).ConfigureAwait(false))
        {
            // NOTE: a page may come back empty with a continuation (a scan that hit its time limit): the client goes on.
            return new AuditPage([.. page.Values.Select(FromEntity)], page.ContinuationToken);
        }

        return new AuditPage([], null);
    }

    /// <summary>One request's row with its bodies decrypted, or null when there is no such row.</summary>
    public async Task<AuditRecord?> GetAsync(string keyId, string requestId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Audit, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(TableRows.SafeKey(keyId), TableRows.SafeKey(requestId), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!row.HasValue || row.Value is null)
        {
            return null;
        }

        var entry = FromEntity(row.Value);
        if (entry.BodiesBlob is not { } name)
        {
            return new AuditRecord(entry, null, null, false, false, null);
        }

        var container = await blobs.GetAsync(RelayBlobs.Audit, cancellationToken).ConfigureAwait(false);
        BinaryData content;
        try
        {
            content = (await container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return new AuditRecord(entry, null, null, false, false, "the bodies blob is gone");
        }

        if (!protector.TryUnprotectBytes(content.ToMemory().Span, Scope + name, out var plain, out var error))
        {
            return new AuditRecord(entry, null, null, false, false, $"the bodies could not be decrypted ({error})");
        }

        var requestLength = BinaryPrimitives.ReadInt32LittleEndian(plain);
        var request = plain.AsSpan(sizeof(int), requestLength).ToArray();
        var response = plain.AsSpan(sizeof(int) + requestLength).ToArray();
        return new AuditRecord(entry, request, response, Matches(request, entry.Facts.RequestSha256), Matches(response, entry.Facts.ResponseSha256), null);
    }

    /// <summary>The filter of rows of requests started before <paramref name="cutoff"/>, in every partition (for retention).</summary>
    public static string StartedBefore(DateTimeOffset cutoff) => TableClient.CreateQueryFilter($"RowKey lt {AuditKeys.RowKeyBound(cutoff)}");

    /// <summary>
    /// Deletes bodies blobs of requests started before <paramref name="cutoff"/>, oldest first, until done or until
    /// <paramref name="stop"/> says so (after at least one). Names sort by time, so the listing stops at the first
    /// blob to keep. Returns how many went and whether it got to the end.
    /// </summary>
    public async Task<(int Deleted, bool Finished)> DeleteBodiesBeforeAsync(DateTimeOffset cutoff, Func<bool> stop, CancellationToken cancellationToken)
    {
        if (!blobs.IsConfigured)
        {
            return (0, true);
        }

        var bound = AuditKeys.BlobNameBound(cutoff);
        var container = await blobs.GetAsync(RelayBlobs.Audit, cancellationToken).ConfigureAwait(false);
        var deleted = 0;
        await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (string.CompareOrdinal(blob.Name, bound) >= 0)
            {
                return (deleted, true);
            }

            if (deleted > 0 && stop())
            {
                return (deleted, false);
            }

            await container.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
            deleted++;
        }

        return (deleted, true);
    }

    private static bool Matches(byte[] body, Sha256Digest? sha256) => sha256 is { } expected && expected == Sha256Digest.Of(body);

    private static AuditEntry FromEntity(TableEntity entity) => new()
    {
        RequestId = entity.GetString("RequestId") ?? entity.RowKey,
        KeyId = entity.GetString("KeyId") ?? entity.PartitionKey,
        Owner = entity.GetString("Owner"),
        AccountId = entity.GetString("AccountId"),
        ClientApi = entity.GetString("ClientApi") ?? "",
        Model = entity.GetString("Model") ?? "",
        UpstreamModel = entity.GetString("UpstreamModel"),
        Status = entity.GetInt32("Status") ?? 0,
        At = entity.GetDateTimeOffset("RequestTime") ?? default,
        BodiesBlob = entity.GetString("BodiesBlob"),
        BodiesTruncated = entity.GetBoolean("BodiesTruncated") ?? false,
        Facts = new AuditFacts
        {
            ClientAddress = entity.GetString("ClientAddress"),
            RequestSha256 = Sha256Digest.Parse(entity.GetString("RequestSha256")),
            RequestBytes = entity.GetInt64("RequestBytes") ?? 0,
            ResponseSha256 = Sha256Digest.Parse(entity.GetString("ResponseSha256")),
            ResponseBytes = entity.GetInt64("ResponseBytes") ?? 0,
        },
    };
}
