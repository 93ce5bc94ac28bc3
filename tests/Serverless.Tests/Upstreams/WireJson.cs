using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Tests.Upstreams;

/// <summary>Small helpers for reading requests and writing answers; the fakes read JSON by hand on purpose.</summary>
internal static class WireJson
{
    // NOTE: relaxed escaping so texts like `Tool said: {"a":1}` stay readable on the wire, as the real APIs send them.
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(JsonNode node) => node.ToJsonString(Options);

    public static string Compact(JsonElement element) => JsonSerializer.Serialize(element, Options);

    public static bool Has(this JsonElement element, string name, out JsonElement value)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out value))
        {
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Gemini's JSON mapping accepts both lowerCamel and the proto's snake_case names.</summary>
    public static bool Has(this JsonElement element, string camel, string snake, out JsonElement value) =>
        element.Has(camel, out value) || element.Has(snake, out value);

    public static string? String(this JsonElement element, string name) =>
        element.Has(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static IEnumerable<JsonElement> Items(this JsonElement element, string name) =>
        element.Has(name, out var value) && value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [];

    public static bool IsTrue(this JsonElement element, string name) =>
        element.Has(name, out var value) && value.ValueKind == JsonValueKind.True;

    public static long? Integer(this JsonElement element, string name) =>
        element.Has(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : null;

    /// <summary>The type name validation messages use: "expected a string, but got an object instead".</summary>
    public static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary>A string, or the text of an array of <c>{type, text}</c> parts joined with a space.</summary>
    public static string TextOf(JsonElement content, params string[] textTypes)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        var texts = content.ValueKind == JsonValueKind.Array
            ? content.EnumerateArray().Where(p => textTypes.Contains(p.String("type"))).Select(p => p.String("text") ?? "")
            : [];
        return string.Join(' ', texts);
    }
}

/// <summary>A validation refusal: the message and, where the format reports one, the offending parameter.</summary>
internal sealed record Invalid(string Message, string? Param = null, string? Code = null);

/// <summary>A finished error answer: status and the body in the endpoint's own error shape.</summary>
internal sealed record UpstreamFailure(int Status, JsonNode Body);
