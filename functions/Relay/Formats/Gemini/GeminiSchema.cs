using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>
/// Converts between JSON Schema (canonical tool parameters) and Gemini's <c>Schema</c>, a subset of OpenAPI 3.0.
/// </summary>
/// <remarks>
/// Gemini rejects unknown keywords with "Invalid JSON payload received. Unknown name ..." (e.g. <c>$schema</c>,
/// <c>additionalProperties</c>, <c>exclusiveMinimum</c>), so the writer keeps an allow-list taken from
/// https://ai.google.dev/api/caching#Schema instead of a deny-list.
/// NOTE: items go into arrays as <c>(JsonNode)</c>: the generic <c>JsonArray.Add&lt;T&gt;</c> serializes its value by
/// reflection, which the native (AOT) build of the handler cannot do.
/// </remarks>
internal static class GeminiSchema
{
    // Recursive $ref chains are cut here; real tool schemas are far shallower.
    private const int MaxDepth = 24;

    // Keywords copied unchanged to Gemini (type, format, enum, properties, required, items, anyOf, nullable are handled apart).
    private static readonly string[] PassThrough =
    [
        "title", "description", "minItems", "maxItems", "minLength", "maxLength", "pattern",
        "minimum", "maximum", "minProperties", "maxProperties", "default", "example", "propertyOrdering",
    ];

    // Gemini renders int64 fields as strings ("minItems": "1"); JSON Schema wants numbers.
    private static readonly string[] Int64Keywords = ["minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"];

    /// <summary>
    /// Converts a tool's JSON Schema to Gemini's <c>parameters</c>. Returns null when the tool takes no arguments:
    /// Gemini rejects an OBJECT with no properties ("properties: should be non-empty for OBJECT type"), and omitting
    /// <c>parameters</c> is how it declares an argument-less function.
    /// </summary>
    public static JsonObject? ToGeminiParameters(JsonObject parameters)
    {
        var converted = ToGemini(parameters, parameters, 0);
        if (converted is null)
        {
            return null;
        }

        // An untyped empty schema ({}) means "no arguments" too.
        var type = GetString(converted, "type");
        var hasProperties = converted["properties"] is JsonObject { Count: > 0 };
        return type is null or "OBJECT" && !hasProperties ? null : converted;
    }

    private static JsonObject? ToGemini(JsonNode? node, JsonObject root, int depth)
    {
        if (node is not JsonObject schema || depth > MaxDepth)
        {
            return null;
        }

        // Step 1: inline local references ("#/$defs/X", "#/definitions/X"); Gemini's parameters have no $ref.
        if (GetString(schema, "$ref") is { } reference)
        {
            var target = Resolve(root, reference);
            var inlined = ToGemini(target, root, depth + 1) ?? [];
            CopyIfPresent(schema, inlined, "description");
            return inlined;
        }

        var result = new JsonObject();
        var nullable = schema["nullable"] is JsonValue n && n.GetValueKind() == JsonValueKind.True;

        // Step 2: the type; ["string","null"] becomes STRING + nullable.
        string? type = null;
        switch (schema["type"])
        {
            case JsonValue single when single.GetValueKind() == JsonValueKind.String:
                type = single.GetValue<string>();
                if (type == "null")
                {
                    nullable = true;
                    type = null;
                }

                break;
            case JsonArray many:
                foreach (var item in many)
                {
                    if (item is JsonValue v && v.GetValueKind() == JsonValueKind.String)
                    {
                        var name = v.GetValue<string>();
                        if (name == "null")
                        {
                            nullable = true;
                        }
                        else
                        {
                            // NOTE: a union of several non-null types keeps the first; Gemini has no type arrays.
                            type ??= name;
                        }
                    }
                }

                break;
        }

        // Step 3: anyOf/oneOf/allOf. Null branches become nullable; a single remaining branch is merged in place.
        var branches = schema["anyOf"] as JsonArray ?? schema["oneOf"] as JsonArray;
        var mergeAll = false;
        if (branches is null && schema["allOf"] is JsonArray allOf)
        {
            branches = allOf;
            mergeAll = true;
        }

        List<JsonObject>? converted = null;
        if (branches is not null)
        {
            converted = new List<JsonObject>(branches.Count);
            foreach (var branch in branches)
            {
                if (branch is JsonObject branchObject && IsNullSchema(branchObject))
                {
                    nullable = true;
                    continue;
                }

                if (ToGemini(branch, root, depth + 1) is { } c)
                {
                    converted.Add(c);
                }
            }

            if (converted.Count == 1 || (mergeAll && converted.Count > 0))
            {
                foreach (var part in converted)
                {
                    MergeInto(result, part);
                }

                converted = null;
            }
        }

        type ??= GetString(result, "type") is { } merged ? merged.ToLowerInvariant() : null;
        if (type is null && schema["properties"] is JsonObject)
        {
            type = "object";
        }
        else if (type is null && schema["items"] is not null)
        {
            type = "array";
        }

        var geminiType = ToGeminiType(type);
        if (geminiType is not null)
        {
            result["type"] = geminiType;
        }

        // Step 4: keywords Gemini knows.
        if (GetString(schema, "format") is { } format && KeepFormat(geminiType, format))
        {
            result["format"] = format;
        }

        foreach (var keyword in PassThrough)
        {
            CopyIfPresent(schema, result, keyword);
        }

        WriteEnum(schema, result, ref nullable);
        if (nullable)
        {
            result["nullable"] = true;
        }

        if (geminiType == "OBJECT" && schema["properties"] is JsonObject properties)
        {
            var outProperties = new JsonObject();
            foreach (var (name, value) in properties)
            {
                outProperties[name] = ToGemini(value, root, depth + 1) ?? [];
            }

            result["properties"] = outProperties;

            // NOTE: Gemini fails a required name with no property ("property is not defined").
            if (schema["required"] is JsonArray required)
            {
                var outRequired = new JsonArray();
                foreach (var item in required)
                {
                    if (item is JsonValue v && v.GetValueKind() == JsonValueKind.String && outProperties.ContainsKey(v.GetValue<string>()))
                    {
                        outRequired.Add((JsonNode)v.GetValue<string>());
                    }
                }

                if (outRequired.Count > 0)
                {
                    result["required"] = outRequired;
                }
            }
        }
        else if (geminiType != "OBJECT")
        {
            // "properties: only allowed for OBJECT type" and likewise for items.
            result.Remove("properties");
            result.Remove("required");
        }

        if (geminiType == "ARRAY")
        {
            var items = schema["items"] is JsonArray tuple && tuple.Count > 0 ? tuple[0] : schema["items"];
            if (items is not null && ToGemini(items, root, depth + 1) is { } itemSchema)
            {
                result["items"] = itemSchema;
            }
        }
        else
        {
            result.Remove("items");
        }

        if (converted is { Count: > 1 })
        {
            var anyOf = new JsonArray();
            foreach (var c in converted)
            {
                anyOf.Add((JsonNode)c);
            }

            result["anyOf"] = anyOf;
        }

        return result;
    }

    /// <summary>Converts a Gemini <c>Schema</c> (uppercase types, <c>nullable</c>) to JSON Schema.</summary>
    public static JsonObject ToJsonSchema(JsonElement schema)
    {
        var result = new JsonObject();
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return result;
        }

        var nullable = GeminiJson.IsTrue(schema, "nullable");
        foreach (var property in schema.EnumerateObject())
        {
            var name = property.Name;
            var value = property.Value;
            switch (name)
            {
                case "type" when value.ValueKind == JsonValueKind.String:
                    var type = value.GetString()!.ToLowerInvariant();
                    if (type is "type_unspecified")
                    {
                        break;
                    }

                    result["type"] = nullable ? new JsonArray(type, "null") : JsonValue.Create(type);
                    break;
                case "nullable":
                    break;
                case "format" when value.ValueKind == JsonValueKind.String && value.GetString() == "enum":
                    // Gemini's "enum" format only marks the enum keyword, which JSON Schema already has.
                    break;
                case "propertyOrdering" or "property_ordering":
                    break;
                case "properties" when value.ValueKind == JsonValueKind.Object:
                    var properties = new JsonObject();
                    foreach (var p in value.EnumerateObject())
                    {
                        properties[p.Name] = ToJsonSchema(p.Value);
                    }

                    result["properties"] = properties;
                    break;
                case "items" when value.ValueKind == JsonValueKind.Object:
                    result["items"] = ToJsonSchema(value);
                    break;
                case "anyOf" or "any_of" when value.ValueKind == JsonValueKind.Array:
                    var anyOf = new JsonArray();
                    foreach (var branch in value.EnumerateArray())
                    {
                        anyOf.Add((JsonNode)ToJsonSchema(branch));
                    }

                    result["anyOf"] = anyOf;
                    break;
                default:
                    var key = CamelCase(name);
                    if (Array.IndexOf(Int64Keywords, key) >= 0 && value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), out var number))
                    {
                        result[key] = number;
                    }
                    else
                    {
                        result[key] = GeminiJson.ToNode(value);
                    }

                    break;
            }
        }

        return result;
    }

    private static string CamelCase(string name)
    {
        var underscore = name.IndexOf('_', StringComparison.Ordinal);
        if (underscore < 0)
        {
            return name;
        }

        var builder = new System.Text.StringBuilder(name.Length);
        var upper = false;
        foreach (var c in name)
        {
            if (c == '_')
            {
                upper = true;
                continue;
            }

            builder.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }

        return builder.ToString();
    }

    private static JsonNode? Resolve(JsonObject root, string reference)
    {
        string? section = reference.StartsWith("#/$defs/", StringComparison.Ordinal) ? "$defs"
            : reference.StartsWith("#/definitions/", StringComparison.Ordinal) ? "definitions"
            : null;
        if (section is null || root[section] is not JsonObject defs)
        {
            return null;
        }

        var name = reference[(reference.LastIndexOf('/') + 1)..];
        return defs[name];
    }

    private static bool IsNullSchema(JsonObject schema) =>
        schema.Count == 1 && GetString(schema, "type") == "null";

    private static string? ToGeminiType(string? type) => type?.ToLowerInvariant() switch
    {
        "string" => "STRING",
        "number" => "NUMBER",
        "integer" => "INTEGER",
        "boolean" => "BOOLEAN",
        "array" => "ARRAY",
        "object" => "OBJECT",
        _ => null,
    };

    // NOTE: the Gemini Developer API rejects other string formats ("only 'enum' and 'date-time' are supported").
    private static bool KeepFormat(string? geminiType, string format) => geminiType switch
    {
        "STRING" => format is "enum" or "date-time",
        "NUMBER" => format is "float" or "double",
        "INTEGER" => format is "int32" or "int64",
        _ => false,
    };

    /// <summary>
    /// <c>enum</c> and <c>const</c> (a one-value enum). Gemini takes <c>enum</c> on STRING alone ("enum: only allowed
    /// for STRING type", https://ai.google.dev/api/caching#Schema), so string values become a STRING enum (an untyped
    /// schema gets the type), and any others (numbers, booleans, a mix) are named in the description instead, for the
    /// model to read, with the type they share when none was given. A null value makes the schema nullable.
    /// </summary>
    /// <remarks>NOTE: numbers were once written as strings (INTEGER with enum ["1","2"]), which Gemini refuses.</remarks>
    private static void WriteEnum(JsonObject schema, JsonObject result, ref bool nullable)
    {
        var values = new List<JsonNode>();
        if (schema["enum"] is JsonArray source)
        {
            foreach (var item in source)
            {
                if (item is null)
                {
                    nullable = true;
                    continue;
                }

                values.Add(item);
            }
        }
        else if (schema["const"] is JsonNode constant)
        {
            values.Add(constant);
        }

        if (values.Count == 0)
        {
            return;
        }

        var type = GetString(result, "type");
        var valuesType = TypeOf(values);
        if (valuesType == "STRING" && type is null or "STRING")
        {
            result["type"] = "STRING";
            var strings = new JsonArray();
            foreach (var value in values)
            {
                strings.Add((JsonNode)value.GetValue<string>());
            }

            result["enum"] = strings;
            return;
        }

        if (type is null && valuesType is not null)
        {
            result["type"] = valuesType;
        }

        var allowed = "Allowed values: " + string.Join(", ", values.Select(value => value.ToJsonString())) + ".";
        result["description"] = GetString(result, "description") is { Length: > 0 } description ? description + " " + allowed : allowed;
    }

    /// <summary>The Gemini type every value has (INTEGER and NUMBER together are NUMBER), or null when they differ.</summary>
    private static string? TypeOf(List<JsonNode> values)
    {
        string? shared = null;
        foreach (var value in values)
        {
            var type = value.GetValueKind() switch
            {
                JsonValueKind.String => "STRING",
                JsonValueKind.True or JsonValueKind.False => "BOOLEAN",
                JsonValueKind.Number => value.AsValue().TryGetValue<long>(out _) ? "INTEGER" : "NUMBER",
                _ => null,
            };
            shared = shared is null || shared == type ? type
                : (shared, type) is ("INTEGER", "NUMBER") or ("NUMBER", "INTEGER") ? "NUMBER"
                : null;
            if (shared is null)
            {
                return null;
            }
        }

        return shared;
    }

    private static void MergeInto(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source)
        {
            if (!target.ContainsKey(key))
            {
                target[key] = value?.DeepClone();
            }
        }
    }

    private static void CopyIfPresent(JsonObject from, JsonObject to, string key)
    {
        if (from[key] is { } value)
        {
            to[key] = value.DeepClone();
        }
    }

    private static string? GetString(JsonObject obj, string key) =>
        obj[key] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
}
