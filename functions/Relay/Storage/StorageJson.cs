using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Serverless.Relay.Storage;

/// <summary>
/// Lists and maps kept as JSON text in one Table column. Written by hand with <see cref="Utf8JsonWriter"/> and read
/// with <see cref="JsonDocument"/>, so it stays trimming- and AOT-safe without a serializer context.
/// </summary>
internal static class StorageJson
{
    public static string WriteList(IReadOnlyList<string> values)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                writer.WriteStringValue(value);
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static IReadOnlyList<string> ReadList(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return [];
        }

        using var document = JsonDocument.Parse(json);
        var list = new List<string>(document.RootElement.GetArrayLength());
        foreach (var item in document.RootElement.EnumerateArray())
        {
            list.Add(item.GetString() ?? "");
        }

        return list;
    }

    public static string WriteMap(IReadOnlyDictionary<string, string> map)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in map)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads a map whose keys compare case-insensitively (model names are matched that way).</summary>
    public static IReadOnlyDictionary<string, string> ReadMap(string? json)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrEmpty(json))
        {
            return map;
        }

        using var document = JsonDocument.Parse(json);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            map[property.Name] = property.Value.GetString() ?? "";
        }

        return map;
    }
}
