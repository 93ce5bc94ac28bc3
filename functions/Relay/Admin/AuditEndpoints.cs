using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Audit;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Admin;

/// <summary>
/// <c>audit</c>: the audit trail, one row per relayed request (who, which account and model, status, client address,
/// SHA-256 of both bodies), and <c>audit/{keyId}/{requestId}</c>: one row with its bodies, when the key or channel
/// audits in full, decrypted and checked against the digests.
/// </summary>
internal sealed class AuditEndpoints(AuditTrail trail, TimeProvider time) : IAdminEndpointGroup
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
    private const int DefaultDays = 30;

    public void Map(AdminRouteGroup group) => group.MapGroup("audit")
        .MapGet("", ListAsync).Documented(new("Pages through the audit trail, oldest first per key")
        {
            Response = ApiSchema.ListOf(AdminSchemas.AuditEntry, ApiSchema.Prop("continuation", ApiSchema.String().OrNull(), "Pass it back for the next page; null: no more.")),
            Query =
            [
                new("keyId", ApiSchema.String(), "Only this key's requests (without it: a scan across keys)."),
                new("from", ApiSchema.DateTime(), "Requests started at or after (ISO 8601); default 30 days before to."),
                new("to", ApiSchema.DateTime(), "Requests started before; default now."),
                new("limit", ApiSchema.Integer(), $"At most this many rows (1 to {MaxLimit}; default {DefaultLimit})."),
                new("continuation", ApiSchema.String(), "The previous page's continuation."),
            ],
        })
        .MapGet("{keyId}/{requestId}", GetAsync).Documented(new("One request's audit row, with its bodies for a full audit, checked against the digests") { Response = AdminSchemas.AuditRecord, Errors = [404] });

    /// <summary>
    /// <c>GET audit?keyId=&amp;from=&amp;to=&amp;limit=&amp;continuation=</c>: requests started in [from, to) (ISO 8601;
    /// default the last 30 days), of one key or of all, a page at a time; <c>continuation</c> comes from the page before.
    /// </summary>
    private async Task<AdminResult> ListAsync(AdminCall call)
    {
        var query = call.Query;
        var errors = new FieldErrors();
        var now = time.GetUtcNow();
        var to = ParseTime(query["to"], "to", now, errors);
        var from = ParseTime(query["from"], "from", to.AddDays(-DefaultDays), errors);
        var keyId = AdminFields.QueryKeyId(query, errors);
        var limit = AdminFields.QueryLimit(query, DefaultLimit, MaxLimit, errors);

        string? continuation = null;
        if (query["continuation"].ToString() is { Length: > 0 } token && (continuation = DecodeContinuation(token)) is null)
        {
            errors.Add("continuation", "continuation must be the value a previous page returned");
        }

        if (!errors.Any && from >= to)
        {
            errors.Add("from", "from must be before to");
        }

        if (errors.Any)
        {
            return errors.ToError();
        }

        var page = await trail.ListAsync(keyId, from, to, limit, continuation, call.Aborted);
        return AdminResult.Ok(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var entry in page.Entries)
            {
                writer.WriteStartObject();
                WriteEntry(writer, entry);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            JsonFields.WriteStringOrNull(writer, "continuation", page.Continuation is { } next ? EncodeContinuation(next) : null);
            writer.WriteEndObject();
        });
    }

    /// <summary><c>GET audit/{keyId}/{requestId}</c>: one row and, for a full audit, its bodies as text.</summary>
    private async Task<AdminResult> GetAsync(AdminCall call)
    {
        var (keyId, requestId) = (call["keyId"], call["requestId"]);
        var record = StorageIds.IsWellFormed(KeyEndpoints.IdPrefix, keyId) && AuditKeys.TimeOf(requestId) is not null
            ? await trail.GetAsync(keyId, requestId, call.Aborted)
            : null;
        if (record is null)
        {
            return new RelayError(ErrorKind.NotFound, $"no audit row for request '{requestId}' of key '{keyId}'");
        }

        return AdminResult.Ok(writer =>
        {
            writer.WriteStartObject();
            WriteEntry(writer, record.Entry);
            if (record.Request is { } request && record.Response is { } response)
            {
                writer.WriteStartObject("bodies");
                writer.WriteString("request", Encoding.UTF8.GetString(request));
                writer.WriteString("response", Encoding.UTF8.GetString(response));
                writer.WriteBoolean("requestMatchesDigest", record.RequestMatches);
                writer.WriteBoolean("responseMatchesDigest", record.ResponseMatches);
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteNull("bodies");
            }

            JsonFields.WriteStringOrNull(writer, "bodiesError", record.BodiesError);
            writer.WriteEndObject();
        });
    }

    private static void WriteEntry(Utf8JsonWriter writer, AuditEntry entry)
    {
        writer.WriteString("object", "audit_entry");
        writer.WriteString("requestId", entry.RequestId);
        writer.WriteString("keyId", entry.KeyId);
        JsonFields.WriteStringOrNull(writer, "owner", entry.Owner);
        JsonFields.WriteStringOrNull(writer, "accountId", entry.AccountId);
        writer.WriteString("clientApi", entry.ClientApi);
        writer.WriteString("model", entry.Model);
        JsonFields.WriteStringOrNull(writer, "upstreamModel", entry.UpstreamModel);
        writer.WriteNumber("status", entry.Status);
        JsonFields.WriteStringOrNull(writer, "clientAddress", entry.Facts.ClientAddress);
        JsonFields.WriteStringOrNull(writer, "requestSha256", entry.Facts.RequestSha256?.ToString());
        writer.WriteNumber("requestBytes", entry.Facts.RequestBytes);
        JsonFields.WriteStringOrNull(writer, "responseSha256", entry.Facts.ResponseSha256?.ToString());
        writer.WriteNumber("responseBytes", entry.Facts.ResponseBytes);
        writer.WriteBoolean("bodiesStored", entry.BodiesBlob is not null);
        writer.WriteBoolean("bodiesTruncated", entry.BodiesTruncated);
        if (AuditKeys.TimeOf(entry.RequestId) is { } started)
        {
            writer.WriteString("startedAt", started);
        }

        writer.WriteString("recordedAt", entry.At);
    }

    private static DateTimeOffset ParseTime(string? value, string field, DateTimeOffset fallback, FieldErrors errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            return fallback;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return at;
        }

        errors.Add(field, $"{field} must be an ISO 8601 date or date and time");
        return fallback;
    }

    // NOTE: the storage SDK's token (next partition and row key) is passed through opaque, in a URL-safe form.
    private static string EncodeContinuation(string token) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(token));

    private static string? DecodeContinuation(string value)
    {
        try
        {
            var token = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(value));
            return token.Length > 0 && !token.Any(char.IsControl) ? token : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
