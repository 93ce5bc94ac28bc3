using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;

namespace Serverless.Relay.Storage.Batches;

/// <summary>
/// The body of a Table service entity-group transaction (<c>$batch</c>, OData multipart) of upserts that replace
/// (<c>PUT</c> without <c>If-Match</c>: insert or replace, as the SDK's <c>UpsertReplace</c>), written in one pass
/// straight from the entities' values.
/// </summary>
/// <remarks>
/// Properties are typed the way the SDK types them: a string, a boolean or a 32-bit integer as plain JSON, anything else
/// with its <c>@odata.type</c> annotation (a double always, or the service would read 12.0 back as an Int32). A null
/// value is left out, which the service stores as no property, as the SDK does. A type the Table service has no column
/// for is a bug: <see cref="NotSupportedException"/>.
/// </remarks>
internal static class UpsertBatchBody
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    private const string DateTimeFormat = "yyyy-MM-ddTHH:mm:ss.fffffffZ";

    /// <param name="table">The table's address without a query: <c>{service}/{table}</c>.</param>
    /// <param name="slices">How the writing yields between slices of rows: the body is written off the request path, on its CPU.</param>
    public static async ValueTask WriteAsync(IBufferWriter<byte> output, string batchBoundary, string changesetBoundary, string table, IReadOnlyList<TableRow> entities, RowSlices slices)
    {
        Append(output, "--"u8);
        Append(output, batchBoundary);
        Append(output, "\r\nContent-Type: multipart/mixed; boundary="u8);
        Append(output, changesetBoundary);
        Append(output, "\r\n\r\n"u8);

        // NOTE: the part of each operation up to its keys is the same for the whole batch: encoded once.
        var operationStart = Encoding.UTF8.GetBytes(
            $"--{changesetBoundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nPUT {table}(PartitionKey='");
        using var json = new Utf8JsonWriter(output, WriterOptions);
        for (var i = 0; i < entities.Count; i++)
        {
            var entity = entities[i];
            Append(output, operationStart);
            Append(output, KeyInUrl(entity.PartitionKey));
            Append(output, "',RowKey='"u8);
            Append(output, KeyInUrl(entity.RowKey));
            Append(output,
                "') HTTP/1.1\r\nAccept: application/json;odata=minimalmetadata\r\nContent-Type: application/json\r\nPrefer: return-no-content\r\nDataServiceVersion: 3.0;\r\n\r\n"u8);
            WriteEntity(json, entity);
            json.Flush();
            json.Reset(output);
            Append(output, "\r\n"u8);
            if (slices.Due(i + 1))
            {
                await RowSlices.Yield();
            }
        }

        Append(output, "--"u8);
        Append(output, changesetBoundary);
        Append(output, "--\r\n--"u8);
        Append(output, batchBoundary);
        Append(output, "--\r\n"u8);
    }

    // NOTE: a quote in a key is doubled inside the OData literal, then the whole key is percent-encoded, as the SDK does.
    private static string KeyInUrl(string key) => Uri.EscapeDataString(key.Replace("'", "''", StringComparison.Ordinal));

    private static void WriteEntity(Utf8JsonWriter json, TableRow row)
    {
        json.WriteStartObject();
        foreach (var (name, value) in row.Columns)
        {
            if (value is not null)
            {
                WriteProperty(json, name, value);
            }
        }

        json.WriteEndObject();
    }

    private static void WriteProperty(Utf8JsonWriter json, string name, object value)
    {
        switch (value)
        {
            case string text:
                json.WriteString(name, text);
                break;
            case bool flag:
                json.WriteBoolean(name, flag);
                break;
            case int number:
                json.WriteNumber(name, number);
                break;
            case long number:
                Annotate(json, name, "Edm.Int64"u8);
                json.WriteString(name, Formatted(number, stackalloc byte[20], default));
                break;
            case double number:
                // NOTE: NaN and infinities throw here, as they do in the SDK's serializer: the relay never records them.
                Annotate(json, name, "Edm.Double"u8);
                json.WriteNumber(name, number);
                break;
            case DateTimeOffset at:
                Annotate(json, name, "Edm.DateTime"u8);
                json.WriteString(name, Formatted(at.UtcDateTime, stackalloc byte[28], DateTimeFormat));
                break;
            case DateTime at:
                Annotate(json, name, "Edm.DateTime"u8);
                json.WriteString(name, Formatted(at.ToUniversalTime(), stackalloc byte[28], DateTimeFormat));
                break;
            case Guid id:
                Annotate(json, name, "Edm.Guid"u8);
                json.WriteString(name, id);
                break;
            case byte[] bytes:
                Annotate(json, name, "Edm.Binary"u8);
                json.WriteBase64String(name, bytes);
                break;
            case BinaryData data:
                Annotate(json, name, "Edm.Binary"u8);
                json.WriteBase64String(name, data.ToMemory().Span);
                break;
            default:
                throw new NotSupportedException($"Property '{name}' is a {value.GetType().Name}, which a table row cannot hold.");
        }
    }

    /// <summary>Writes <c>{name}@odata.type</c>, the name built in a stack buffer (a string per typed column was 2 % of the relay's allocations).</summary>
    private static void Annotate(Utf8JsonWriter json, string name, ReadOnlySpan<byte> type)
    {
        if (name.Length > 255)
        {
            // Longer than any column the service accepts (255 characters): not worth a stack buffer.
            json.WriteString(name + "@odata.type", type);
            return;
        }

        var suffix = "@odata.type"u8;
        Span<byte> annotation = stackalloc byte[(name.Length * 3) + suffix.Length];
        var length = Encoding.UTF8.GetBytes(name, annotation);
        suffix.CopyTo(annotation[length..]);
        json.WriteString(annotation[..(length + suffix.Length)], type);
    }

    private static ReadOnlySpan<byte> Formatted<T>(T value, Span<byte> buffer, ReadOnlySpan<char> format)
        where T : IUtf8SpanFormattable =>
        value.TryFormat(buffer, out var written, format, CultureInfo.InvariantCulture) ? buffer[..written] : throw new FormatException($"{value} did not fit its column's format.");

    private static void Append(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);

    private static void Append(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
