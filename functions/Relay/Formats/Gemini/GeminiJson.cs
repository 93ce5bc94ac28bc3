using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>JSON helpers shared by the Gemini readers and writers.</summary>
internal static class GeminiJson
{
    /// <summary>
    /// Reads a property by its camelCase name or its snake_case alias.
    /// NOTE: Gemini's REST API is proto3 JSON, which accepts both spellings of every field, and Google's own Python
    /// samples send snake_case (<c>system_instruction</c>, <c>inline_data</c>), so readers must too.
    /// </summary>
    public static bool TryGet(JsonElement obj, string camel, string snake, out JsonElement value)
    {
        if (obj.TryGetProperty(camel, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        if (obj.TryGetProperty(snake, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Reads a property whose name is the same in both spellings.</summary>
    public static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }

    public static string? GetString(JsonElement obj, string camel, string snake) =>
        TryGet(obj, camel, snake, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static string? GetString(JsonElement obj, string name) =>
        TryGet(obj, name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool IsTrue(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    /// <summary>Reads a token count; proto3 JSON may render int64 as a string.</summary>
    public static long? GetCount(JsonElement obj, string camel, string snake)
    {
        if (!TryGet(obj, camel, snake, out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
        {
            return number;
        }

        return value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), out number) ? number : null;
    }

    /// <summary>
    /// Deep-copies an element into a <see cref="JsonNode"/> that owns its data.
    /// NOTE: <c>JsonValue.Create(JsonElement)</c> would keep pointing into the request's <see cref="JsonDocument"/>,
    /// which the caller disposes while the canonical request is still in use.
    /// </summary>
    public static JsonNode? ToNode(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    obj[property.Name] = ToNode(property.Value);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(ToNode(item));
                }

                return array;
            case JsonValueKind.String:
                return JsonValue.Create(element.GetString());
            case JsonValueKind.Number:
                return element.TryGetInt64(out var integer) ? JsonValue.Create(integer) : JsonValue.Create(element.GetDouble());
            case JsonValueKind.True:
                return JsonValue.Create(true);
            case JsonValueKind.False:
                return JsonValue.Create(false);
            default:
                return null;
        }
    }

    /// <summary>
    /// Writes <paramref name="json"/> as the value of <paramref name="name"/> when it is a JSON object; otherwise
    /// returns false and writes nothing, so the caller can choose a fallback.
    /// </summary>
    public static bool TryWriteObject(Utf8JsonWriter writer, string name, string? json)
    {
        if (string.IsNullOrWhiteSpace(json) || json.AsSpan().TrimStart()[0] != '{')
        {
            return false;
        }

        try
        {
            // NOTE: WriteRawValue validates before it writes anything, so a failure leaves the writer untouched.
            writer.WritePropertyName(name);
            writer.WriteRawValue(json);
            return true;
        }
        catch (JsonException)
        {
            // The property name is already out; give it an empty object so the output stays well-formed.
            writer.WriteStartObject();
            writer.WriteEndObject();
            return true;
        }
    }

    /// <summary>Splits a <c>data:&lt;mime&gt;;base64,&lt;data&gt;</c> URL.</summary>
    public static bool TryParseDataUrl(string url, out string mediaType, out string data)
    {
        mediaType = string.Empty;
        data = string.Empty;
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var marker = url.IndexOf(";base64", StringComparison.OrdinalIgnoreCase);
        if (comma < 0 || marker < 0 || marker > comma)
        {
            return false;
        }

        mediaType = url[5..marker];
        data = url[(comma + 1)..];
        return mediaType.Length > 0;
    }
}
