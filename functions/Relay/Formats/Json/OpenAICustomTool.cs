using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// An OpenAI custom (freeform) tool, of Responses or Chat Completions, as other upstreams can take it: a function with
/// one string argument, <c>input</c>, which carries the free text a custom tool call holds (Codex's <c>apply_patch</c>
/// on GPT-5 models).
/// </summary>
/// <remarks>https://platform.openai.com/docs/guides/function-calling#custom-tools</remarks>
internal static class OpenAICustomTool
{
    /// <summary><see cref="InputSchema"/> as written, which is how a token estimate counts it.</summary>
    public static readonly string InputSchemaJson = InputSchema().ToJsonString();

    // Non-ASCII text (a patch's) stays as it is, so an upstream model sees its own characters, not \u escapes.
    private static readonly JsonSerializerOptions ArgumentsOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The function's parameters: one required string, <c>input</c>.</summary>
    public static JsonObject InputSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["input"] = new JsonObject { ["type"] = "string" } },
        ["required"] = new JsonArray("input"),
        ["additionalProperties"] = false,
    };

    /// <summary>
    /// The tool's description with its <c>format</c>'s grammar after it, so a model without grammar-constrained
    /// sampling still knows the syntax; the description alone for unconstrained text or a format it cannot read.
    /// </summary>
    /// <param name="tool">
    /// The object holding <c>format</c>: a Responses tool, whose grammar is the format itself
    /// (<c>{"type":"grammar","syntax":…,"definition":…}</c>), or a Chat Completions tool's <c>custom</c>, whose grammar
    /// sits one level down (<c>{"type":"grammar","grammar":{"syntax":…,"definition":…}}</c>).
    /// </param>
    public static string? Description(string? description, JsonElement tool)
    {
        if (!JsonFields.TryGetPresent(tool, "format"u8, out var format)
            || !JsonFields.TryGetPresent(format, "type"u8, out var type) || !JsonFields.IsText(type, "grammar"u8))
        {
            return description;
        }

        if (JsonFields.TryGetPresent(format, "grammar"u8, out var nested) && nested.ValueKind == JsonValueKind.Object)
        {
            format = nested;
        }

        if (JsonFields.GetString(format, "definition") is not { } definition)
        {
            return description;
        }

        var grammar = $"The `input` string must follow this {JsonFields.GetString(format, "syntax") ?? "grammar"} grammar:\n{definition}";
        return string.IsNullOrEmpty(description) ? grammar : description + "\n\n" + grammar;
    }

    /// <summary>A custom tool call's free text as the arguments of the function that stands for the tool.</summary>
    public static string Arguments(string input) => new JsonObject { ["input"] = input }.ToJsonString(ArgumentsOptions);

    /// <summary>
    /// The free text of a call the model made to the function: its <c>input</c> string, or the arguments as they came
    /// when they are not an object with one (a model that ignored the schema), so nothing it wrote is lost.
    /// </summary>
    public static string InputOf(string argumentsJson)
    {
        try
        {
            using var document = JsonDocument.Parse(argumentsJson);
            return JsonFields.GetString(document.RootElement, "input") is { } input ? input : argumentsJson;
        }
        catch (JsonException)
        {
            return argumentsJson;
        }
    }
}
