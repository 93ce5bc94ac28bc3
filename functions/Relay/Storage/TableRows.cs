using System.Globalization;
using Azure;
using Azure.Data.Tables;

namespace Serverless.Relay.Storage;

/// <summary>Row keys the relay's per-request tables share, and row operations whose Azure behaviour Azurite does not reproduce.</summary>
internal static class TableRows
{
    /// <summary>The UTC time prefix of a time-ordered row key: sorts as time does, so an age is a RowKey range.</summary>
    public const string TimeKeyFormat = "yyyyMMddHHmmssfff";

    /// <summary>What a key may not hold: '/', '\', '#', '?' and the control characters (what <see cref="char.IsControl(char)"/> says).</summary>
    private static readonly System.Buffers.SearchValues<char> UnsafeKeyChars = System.Buffers.SearchValues.Create(
        "/\\#?" + string.Concat(Enumerable.Range(0, 0xA0).Select(c => (char)c).Where(char.IsControl)));

    /// <summary>A per-request row key, <c>yyyyMMddHHmmssfff-id</c> (UTC): time-ordered within a partition, unique by the id.</summary>
    public static string TimeOrderedKey(DateTimeOffset at, string id) => TimeKeyOf(at) + "-" + SafeKey(id);

    /// <summary>The time part of <see cref="TimeOrderedKey"/> alone: every row at or after <paramref name="at"/> sorts at or after it.</summary>
    public static string TimeKeyOf(DateTimeOffset at) => at.UtcDateTime.ToString(TimeKeyFormat, CultureInfo.InvariantCulture);

    /// <summary>Keys may not hold '/', '\', '#', '?' or control characters; such characters become '_'.</summary>
    public static string SafeKey(string value)
    {
        if (value.Length == 0)
        {
            return "_";
        }

        return !value.AsSpan().ContainsAny(UnsafeKeyChars)
            ? value
            : string.Create(value.Length, value, static (span, source) =>
            {
                for (var i = 0; i < source.Length; i++)
                {
                    var c = source[i];
                    span[i] = UnsafeKeyChars.Contains(c) ? '_' : c;
                }
            });
    }

    /// <summary>Deletes one row; false when there was none.</summary>
    public static async Task<bool> DeleteIfExistsAsync(TableClient table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        // NOTE: read first: Azurite answers 204 to a delete of a missing entity with ETag '*', where Azure answers 404.
        var current = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, select: ["PartitionKey"], cancellationToken).ConfigureAwait(false);
        if (!current.HasValue)
        {
            return false;
        }

        try
        {
            await table.DeleteEntityAsync(partitionKey, rowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }
}
