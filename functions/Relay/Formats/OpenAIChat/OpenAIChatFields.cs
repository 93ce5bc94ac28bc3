using System.Text.Json;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>
/// Reads optional scalar request fields, keeping the first problem in <see cref="Error"/> so a run of reads is checked
/// once. OpenAI treats an explicit <c>null</c> like an absent field, and so does every read here.
/// </summary>
internal sealed class OpenAIChatFields
{
    public RelayError? Error { get; private set; }

    public static bool TryGetPresent(JsonElement obj, string name, out JsonElement value) => JsonFields.TryGetPresent(obj, name, out value);

    /// <summary>A required string at <c>parentPath.name</c>; the error names that path.</summary>
    public static RelayError? RequireString(JsonElement obj, string name, string parentPath, out string value)
    {
        var path = parentPath + "." + name;
        value = string.Empty;
        if (!TryGetPresent(obj, name, out var element))
        {
            return RelayError.Invalid($"{path}: field required", path);
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return RelayError.Invalid($"{path}: must be a string", path);
        }

        value = element.GetString()!;
        return null;
    }

    /// <remarks>Safe before <see cref="JsonFields.CheckText"/>: unreadable text is an error here too.</remarks>
    public string? String(JsonElement obj, string name, string? path = null) =>
        Keep(JsonFields.ReadString(obj, name, out var value, path)) ? value : null;

    public bool? Bool(JsonElement obj, string name, string? path = null) =>
        TryGetPresent(obj, name, out var element) && Check(element.ValueKind is JsonValueKind.True or JsonValueKind.False, path ?? name, "must be a boolean")
            ? element.GetBoolean()
            : null;

    public double? Double(JsonElement obj, string name) => Keep(JsonFields.ReadNumber(obj, name, out var value)) ? value : null;

    public long? Integer(JsonElement obj, string name) => Keep(JsonFields.ReadInteger(obj, name, out var value)) ? value : null;

    public int? PositiveInt(JsonElement obj, string name)
    {
        if (!TryGetPresent(obj, name, out var element))
        {
            return null;
        }

        var number = 0;
        if (!Check(element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out number), name, "must be an integer")
            || !Check(number >= 1, name, "must be at least 1"))
        {
            return null;
        }

        return number;
    }

    public JsonElement? Object(JsonElement obj, string name) =>
        TryGetPresent(obj, name, out var element) && Check(element.ValueKind == JsonValueKind.Object, name, "must be an object")
            ? element
            : null;

    /// <summary>A string or an array of strings (OpenAI's <c>stop</c>), as a list.</summary>
    public IReadOnlyList<string> StringOrStrings(JsonElement obj, string name) =>
        Keep(JsonFields.ReadStopSequences(obj, name, out var values, allowSingle: true)) ? values : [];

    /// <summary>Keeps the first error; true when there was none.</summary>
    private bool Keep(RelayError? error)
    {
        Error ??= error;
        return error is null;
    }

    private bool Check(bool valid, string path, string problem)
    {
        if (!valid)
        {
            Error ??= RelayError.Invalid($"{path}: {problem}", path);
        }

        return valid;
    }
}
