using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// OpenAI's structured-output object, shared by Chat Completions (<c>response_format</c>, the schema fields nested in
/// <c>json_schema</c>) and Responses (<c>text.format</c>, the same fields inline).
/// </summary>
/// <remarks>
/// Shapes: https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format and
/// https://platform.openai.com/docs/api-reference/responses/create#responses-create-text.
/// </remarks>
internal static class OpenAIOutputFormat
{
    /// <summary>
    /// Reads a format object at <paramref name="path"/>: <c>text</c>, <c>json_object</c> or <c>json_schema</c>, whose
    /// fields are in <paramref name="schemaField"/> (Chat) or, when null, beside <c>type</c> (Responses). Errors name
    /// the field and carry <paramref name="param"/>.
    /// </summary>
    public static RelayError? Read(JsonElement format, string path, string param, string? schemaField, out OutputFormat? value)
    {
        value = null;
        if (format.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid($"{path}: must be an object", param);
        }

        var typePath = path + ".type";
        if (!JsonFields.TryGetPresent(format, "type", out var type))
        {
            return RelayError.Invalid($"{typePath}: field required", param);
        }

        if (JsonFields.IsText(type, "text"u8))
        {
            value = OutputFormat.Text;
            return null;
        }

        if (JsonFields.IsText(type, "json_object"u8))
        {
            value = OutputFormat.AnyJson;
            return null;
        }

        if (!JsonFields.IsText(type, "json_schema"u8))
        {
            return RelayError.Invalid($"{typePath}: must be one of text, json_object, json_schema", param);
        }

        var fields = format;
        var fieldsPath = path;
        if (schemaField is not null)
        {
            fieldsPath = $"{path}.{schemaField}";
            if (!JsonFields.TryGetPresent(format, schemaField, out fields))
            {
                return RelayError.Invalid($"{fieldsPath}: field required", param);
            }

            if (fields.ValueKind != JsonValueKind.Object)
            {
                return RelayError.Invalid($"{fieldsPath}: must be an object", param);
            }
        }

        if (JsonFields.RequiredString(fields, "name", (fieldsPath, param), JsonFields.InvalidField, out var name) is { } nameError)
        {
            return nameError;
        }

        // NOTE: Chat Completions lets the schema be left out (any JSON then); an empty schema says the same to every upstream.
        JsonObject schema;
        if (!JsonFields.TryGetPresent(fields, "schema", out var schemaElement))
        {
            schema = [];
        }
        else if (schemaElement.ValueKind == JsonValueKind.Object)
        {
            // Clone: the request's document is disposed after reading.
            schema = JsonObject.Create(schemaElement.Clone())!;
        }
        else
        {
            return RelayError.Invalid($"{fieldsPath}.schema: must be an object", param);
        }

        if (JsonFields.ReadBool(fields, "strict", out var strict, $"{fieldsPath}.strict") is { } strictError)
        {
            return strictError with { Param = param };
        }

        if (JsonFields.ReadString(fields, "description", out var description, $"{fieldsPath}.description", param) is { } descriptionError)
        {
            return descriptionError;
        }

        value = new OutputFormat(OutputFormatKind.JsonSchema, name, schema, strict, description);
        return null;
    }

    /// <summary>
    /// Writes the format object as property <paramref name="property"/>, the schema fields nested in
    /// <paramref name="schemaField"/> (Chat) or inline when null (Responses).
    /// </summary>
    public static void Write(Utf8JsonWriter writer, string property, OutputFormat format, string? schemaField)
    {
        writer.WriteStartObject(property);
        switch (format.Kind)
        {
            case OutputFormatKind.JsonObject:
                writer.WriteString("type", "json_object");
                break;
            case OutputFormatKind.JsonSchema:
                writer.WriteString("type", "json_schema");
                if (schemaField is not null)
                {
                    writer.WriteStartObject(schemaField);
                }

                writer.WriteString("name", format.Name ?? DefaultName);
                JsonFields.WriteStringIfPresent(writer, "description", format.Description);
                writer.WritePropertyName("schema");
                (format.Schema ?? []).WriteTo(writer);
                JsonFields.WriteBooleanIfPresent(writer, "strict", format.Strict);
                if (schemaField is not null)
                {
                    writer.WriteEndObject();
                }

                break;
            default:
                writer.WriteString("type", "text");
                break;
        }

        writer.WriteEndObject();
    }

    /// <summary>OpenAI requires a name; a format read from Gemini has none.</summary>
    public const string DefaultName = "response";
}
