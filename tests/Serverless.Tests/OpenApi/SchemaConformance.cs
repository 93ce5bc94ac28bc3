using System.Text.Json;

namespace Serverless.Tests.OpenApi;

/// <summary>
/// Checks a JSON value against a schema of the document, the subset the relay's document uses: <c>$ref</c>,
/// <c>anyOf</c>, <c>type</c> (one or with <c>null</c>), <c>enum</c>, <c>required</c>, <c>properties</c>, <c>items</c>
/// and <c>additionalProperties</c>. Returns every mismatch with its JSON path.
/// </summary>
internal sealed class SchemaConformance(JsonElement document)
{
    public IReadOnlyList<string> Check(JsonElement value, JsonElement schema, string path = "$")
    {
        var problems = new List<string>();
        Walk(value, schema, path, problems);
        return problems;
    }

    private void Walk(JsonElement value, JsonElement schema, string path, List<string> problems)
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            Walk(value, Resolve(reference.GetString()!), path, problems);
            return;
        }

        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            if (!anyOf.EnumerateArray().Any(option => Check(value, option, path).Count == 0))
            {
                problems.Add($"{path}: matches none of anyOf");
            }

            return;
        }

        if (schema.TryGetProperty("type", out var type))
        {
            var allowed = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            if (!allowed.Any(t => IsOfType(value, t)))
            {
                problems.Add($"{path}: {value.ValueKind} is not {string.Join(" or ", allowed)}");
                return;
            }
        }

        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => JsonElement.DeepEquals(v, value)))
        {
            problems.Add($"{path}: {value.GetRawText()} is not one of {values.GetRawText()}");
        }

        if (value.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out var required))
            {
                foreach (var name in required.EnumerateArray().Select(r => r.GetString()!).Where(name => !value.TryGetProperty(name, out _)))
                {
                    problems.Add($"{path}: required property '{name}' is missing");
                }
            }

            var properties = schema.TryGetProperty("properties", out var p) ? p : default;
            var additional = schema.TryGetProperty("additionalProperties", out var a) ? a : default;
            foreach (var property in value.EnumerateObject())
            {
                if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out var propertySchema))
                {
                    Walk(property.Value, propertySchema, $"{path}.{property.Name}", problems);
                }
                else if (additional.ValueKind == JsonValueKind.Object)
                {
                    Walk(property.Value, additional, $"{path}.{property.Name}", problems);
                }
                else if (properties.ValueKind == JsonValueKind.Object)
                {
                    // Stricter than JSON Schema on purpose: a field a view writes but its schema does not name is a
                    // document that fell behind the code.
                    problems.Add($"{path}: property '{property.Name}' is not in the schema");
                }
            }
        }

        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                Walk(item, items, $"{path}[{i++}]", problems);
            }
        }
    }

    private JsonElement Resolve(string reference)
    {
        var node = document;
        foreach (var segment in reference.TrimStart('#', '/').Split('/'))
        {
            node = node.GetProperty(segment);
        }

        return node;
    }

    private static bool IsOfType(JsonElement value, string type) => type switch
    {
        "null" => value.ValueKind == JsonValueKind.Null,
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        _ => false,
    };
}
