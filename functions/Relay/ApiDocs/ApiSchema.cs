using System.Text.Json;

namespace Serverless.Relay.ApiDocs;

/// <summary>One property of an object schema; <see cref="Required"/> when the view always writes it (or a request must send it).</summary>
internal sealed record ApiProperty(string Name, ApiSchema Schema, bool Required = true, string? Description = null);

/// <summary>
/// A JSON Schema (2020-12, as OpenAPI 3.1 uses it) small enough to write by hand beside the code it describes. A named
/// schema goes once into the document's <c>components</c> and is referenced everywhere else.
/// </summary>
internal sealed record ApiSchema
{
    /// <summary>The component name (<c>Key</c>); null for an inline schema.</summary>
    public string? Name { get; init; }

    /// <summary><c>object</c>, <c>string</c>, <c>integer</c>, <c>number</c>, <c>boolean</c> or <c>array</c>; null: anything.</summary>
    public string? Type { get; init; }

    public bool Nullable { get; init; }

    public string? Format { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<string>? Enum { get; init; }

    public IReadOnlyList<ApiProperty>? Properties { get; init; }

    public ApiSchema? Items { get; init; }

    /// <summary>For a map (<c>modelMap</c>): the schema of every value.</summary>
    public ApiSchema? Values { get; init; }

    public static ApiSchema Any(string? description = null) => new() { Description = description };

    public static ApiSchema String(string? format = null, string? description = null) => new() { Type = "string", Format = format, Description = description };

    public static ApiSchema DateTime(string? description = null) => String("date-time", description);

    public static ApiSchema OneOf(params string[] values) => new() { Type = "string", Enum = values };

    public static ApiSchema Integer(string? description = null) => new() { Type = "integer", Description = description };

    public static ApiSchema Number(string? description = null) => new() { Type = "number", Description = description };

    public static ApiSchema Boolean(string? description = null) => new() { Type = "boolean", Description = description };

    public static ApiSchema ArrayOf(ApiSchema items, string? description = null) => new() { Type = "array", Items = items, Description = description };

    public static ApiSchema MapOf(ApiSchema values, string? description = null) => new() { Type = "object", Values = values, Description = description };

    public static ApiSchema Object(string? name, params ApiProperty[] properties) => new() { Type = "object", Name = name, Properties = properties };

    public static ApiProperty Prop(string name, ApiSchema schema, string? description = null) => new(name, schema, true, description);

    public static ApiProperty Optional(string name, ApiSchema schema, string? description = null) => new(name, schema, false, description);

    /// <summary><c>{"object": "list", "data": [...]}</c>, the admin API's list shape.</summary>
    public static ApiSchema ListOf(ApiSchema item, params ApiProperty[] extra) =>
        Object(null, [Prop("object", OneOf("list")), Prop("data", ArrayOf(item)), .. extra]);

    public ApiSchema OrNull() => this with { Nullable = true };

    /// <summary>Writes the schema, as a reference when it is named and <paramref name="inline"/> is false.</summary>
    public void Write(Utf8JsonWriter writer, bool inline = false)
    {
        writer.WriteStartObject();
        if (Name is not null && !inline)
        {
            if (Nullable)
            {
                writer.WriteStartArray("anyOf");
                writer.WriteStartObject();
                writer.WriteString("$ref", "#/components/schemas/" + Name);
                writer.WriteEndObject();
                writer.WriteStartObject();
                writer.WriteString("type", "null");
                writer.WriteEndObject();
                writer.WriteEndArray();
            }
            else
            {
                writer.WriteString("$ref", "#/components/schemas/" + Name);
            }

            writer.WriteEndObject();
            return;
        }

        if (Type is not null)
        {
            if (Nullable)
            {
                writer.WriteStartArray("type");
                writer.WriteStringValue(Type);
                writer.WriteStringValue("null");
                writer.WriteEndArray();
            }
            else
            {
                writer.WriteString("type", Type);
            }
        }

        if (Format is not null)
        {
            writer.WriteString("format", Format);
        }

        if (Description is not null)
        {
            writer.WriteString("description", Description);
        }

        if (Enum is not null)
        {
            writer.WriteStartArray("enum");
            foreach (var value in Enum)
            {
                writer.WriteStringValue(value);
            }

            if (Nullable)
            {
                writer.WriteNullValue();
            }

            writer.WriteEndArray();
        }

        if (Items is not null)
        {
            writer.WritePropertyName("items");
            Items.Write(writer);
        }

        if (Values is not null)
        {
            writer.WritePropertyName("additionalProperties");
            Values.Write(writer);
        }

        if (Properties is not null)
        {
            writer.WriteStartObject("properties");
            foreach (var property in Properties)
            {
                writer.WritePropertyName(property.Name);
                (property.Description is null ? property.Schema : property.Schema with { Description = property.Description }).Write(writer);
            }

            writer.WriteEndObject();
            if (Properties.Any(p => p.Required))
            {
                writer.WriteStartArray("required");
                foreach (var property in Properties.Where(p => p.Required))
                {
                    writer.WriteStringValue(property.Name);
                }

                writer.WriteEndArray();
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>This schema's named schemas and theirs, each once (for <c>components</c>).</summary>
    public IEnumerable<ApiSchema> Named()
    {
        if (Name is not null)
        {
            yield return this;
        }

        foreach (var child in (Properties ?? []).Select(p => p.Schema).Append(Items).Append(Values).OfType<ApiSchema>())
        {
            foreach (var named in child.Named())
            {
                yield return named;
            }
        }
    }
}
