using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Formats.Json;

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
        TryGet(obj, camel, snake, out var value) && JsonFields.TryReadText(value, out var text) ? text : null;

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
    /// Writes <paramref name="json"/> as the value of <paramref name="name"/> when it is one complete JSON object;
    /// otherwise returns false and writes nothing, so the caller can choose a fallback.
    /// NOTE: the object is re-emitted token by token, not raw: arguments from other providers may be pretty-printed,
    /// and a newline inside an SSE <c>data:</c> line would break the frame.
    /// </summary>
    public static bool TryWriteObject(Utf8JsonWriter writer, string name, string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return false;
        }

        var text = json.AsSpan().Trim();
        if (text[0] != '{')
        {
            return false;
        }

        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            var utf8 = rented.AsSpan(0, Encoding.UTF8.GetBytes(text, rented));
            if (!IsOneValue(utf8))
            {
                return false;
            }

            writer.WritePropertyName(name);
            Copy(utf8, writer);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool IsOneValue(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        try
        {
            // Skip walks the whole value; a second Read must find the end, not trailing text.
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void Copy(ReadOnlySpan<byte> utf8, Utf8JsonWriter writer)
    {
        var reader = new Utf8JsonReader(utf8);
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    writer.WriteStartObject();
                    break;
                case JsonTokenType.EndObject:
                    writer.WriteEndObject();
                    break;
                case JsonTokenType.StartArray:
                    writer.WriteStartArray();
                    break;
                case JsonTokenType.EndArray:
                    writer.WriteEndArray();
                    break;
                case JsonTokenType.PropertyName:
                    if (reader.ValueIsEscaped)
                    {
                        writer.WritePropertyName(reader.GetString()!);
                    }
                    else
                    {
                        writer.WritePropertyName(reader.ValueSpan);
                    }

                    break;
                case JsonTokenType.String:
                    if (reader.ValueIsEscaped)
                    {
                        writer.WriteStringValue(reader.GetString());
                    }
                    else
                    {
                        writer.WriteStringValue(reader.ValueSpan);
                    }

                    break;
                case JsonTokenType.Number:
                    writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                    break;
                case JsonTokenType.True:
                    writer.WriteBooleanValue(true);
                    break;
                case JsonTokenType.False:
                    writer.WriteBooleanValue(false);
                    break;
                case JsonTokenType.Null:
                    writer.WriteNullValue();
                    break;
            }
        }
    }
}
