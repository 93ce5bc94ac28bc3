using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// The JSON field readers and writers every wire format shares: lenient getters for answers (a missing or mistyped
/// field is null), validating readers for client requests (a mistyped field is an <see cref="ErrorKind.InvalidRequest"/>
/// naming it), and write-null-or-value helpers. An explicit <c>null</c> reads like an absent field everywhere.
/// </summary>
internal static class JsonFields
{
    private const string Unreadable = "must be valid UTF-8 text without unpaired surrogates";

    // ---- lenient getters: never throw, whatever the element holds ----

    /// <summary>The property when <paramref name="obj"/> is an object that has it with a non-null value.</summary>
    public static bool TryGetPresent(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>The property when <paramref name="obj"/> has it as a string, read in place.</summary>
    public static bool TryGetString(JsonElement obj, ReadOnlySpan<byte> name, out JsonElement text) =>
        TryGetPresent(obj, name, out text) && text.ValueKind == JsonValueKind.String;

    /// <summary>An optional string field as a reader takes it: absent, null or a string.</summary>
    public static bool IsAbsentOrString(JsonElement obj, ReadOnlySpan<byte> name) =>
        !TryGetPresent(obj, name, out var value) || value.ValueKind == JsonValueKind.String;

    /// <summary>As <see cref="TryGetPresent(JsonElement, string, out JsonElement)"/> with the name in UTF-8, as the document holds it (no transcoding per lookup).</summary>
    public static bool TryGetPresent(JsonElement obj, ReadOnlySpan<byte> name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>A string property, or null when absent, not a string or not readable text.</summary>
    public static string? GetString(JsonElement obj, string name) =>
        TryGetPresent(obj, name, out var value) && TryReadText(value, out var text) ? text : null;

    /// <summary>An integer property, or null when absent or not an integer that fits.</summary>
    public static long? GetInt64(JsonElement obj, string name) =>
        TryGetPresent(obj, name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : null;

    /// <summary>
    /// Whether the element is the string <paramref name="utf8"/>. NOTE: <see cref="JsonElement.ValueEquals(ReadOnlySpan{byte})"/>
    /// throws on anything but a string, so a client's <c>"role": 1</c> must be checked through here.
    /// </summary>
    public static bool IsText(JsonElement element, ReadOnlySpan<byte> utf8) =>
        element.ValueKind == JsonValueKind.String && element.ValueEquals(utf8);

    /// <summary>A detached copy of an object property (e.g. <c>cache_control</c>), or null when absent or not an object.</summary>
    /// <remarks>NOTE: the copy must not point into the request's <see cref="JsonDocument"/>, which is disposed after reading.</remarks>
    public static JsonObject? GetObjectCopy(JsonElement obj, string name) =>
        TryGetPresent(obj, name, out var value) && value.ValueKind == JsonValueKind.Object ? JsonObject.Create(value.Clone()) : null;

    /// <summary>
    /// The text of a string element; false for any other kind and for text that is not valid UTF-8 or holds an
    /// unpaired surrogate escape (<c>"\ud800"</c>), where <see cref="JsonElement.GetString"/> would throw.
    /// </summary>
    public static bool TryReadText(JsonElement element, out string? text)
    {
        text = null;
        if (element.ValueKind != JsonValueKind.String || !IsReadable(JsonMarshal.GetRawUtf8Value(element)))
        {
            return false;
        }

        text = element.GetString();
        return true;
    }

    // ---- validating readers for client requests ----

    /// <summary>
    /// Finds the first string (value or property name) in <paramref name="root"/> that cannot be read as text: invalid
    /// UTF-8 bytes or an unpaired surrogate escape. Every request and answer reader checks this first, so the field
    /// readers after it never meet a string that throws.
    /// </summary>
    /// <returns>An <see cref="ErrorKind.InvalidRequest"/> naming the field (e.g. <c>messages[0].content</c>), or null.</returns>
    public static RelayError? CheckText(JsonElement root)
    {
        // NOTE: one vectorized pass over the element's bytes clears nearly every body; the walk, which names the field,
        // runs only when there is invalid UTF-8 or a surrogate escape (a valid pair too). Text can be unreadable in no
        // other way: a surrogate written as UTF-8 bytes is invalid UTF-8.
        var raw = JsonMarshal.GetRawUtf8Value(root);
        if (Utf8.IsValid(raw) && !HasSurrogateEscape(raw))
        {
            return null;
        }

        if (FindUnreadable(root) is not { } path)
        {
            return null;
        }

        var field = path.Length == 0 ? "body" : path.TrimStart('.');
        var end = field.AsSpan().IndexOfAny('.', '[');
        var param = end < 0 ? field : field[..end];
        return RelayError.Invalid($"{field}: {Unreadable}", param);
    }

    /// <summary>As <see cref="CheckText"/> for an upstream's answer: an <see cref="ErrorKind.Upstream"/> error, or null.</summary>
    public static RelayError? CheckAnswerText(JsonElement root) =>
        CheckText(root) is { } error ? new RelayError(ErrorKind.Upstream, "upstream response: " + error.Message) : null;

    /// <summary>
    /// Parses one upstream stream event's data: <paramref name="notJson"/> when it is not JSON, the
    /// <see cref="CheckAnswerText"/> error when it holds unreadable text, else null and the document (the caller disposes it).
    /// </summary>
    public static RelayError? ParseEvent(ReadOnlyMemory<byte> data, RelayError notJson, out JsonDocument document) =>
        ParseEvent(data, notJson, static error => error, out document);

    /// <summary>As <see cref="ParseEvent(ReadOnlyMemory{byte}, RelayError, out JsonDocument)"/>, the not-JSON error built only when needed.</summary>
    /// <remarks>The document reads <paramref name="data"/> in place: it is valid as long as the data is.</remarks>
    public static RelayError? ParseEvent<TState>(ReadOnlyMemory<byte> data, TState state, Func<TState, RelayError> notJson, out JsonDocument document)
    {
        // NOTE: bytes that are not UTF-8 read as U+FFFD, as they would through any text decoder; only such an event is copied.
        if (!Utf8.IsValid(data.Span))
        {
            data = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(data.Span));
        }

        try
        {
            document = JsonDocument.Parse(data);
        }
        catch (JsonException)
        {
            document = null!;
            return notJson(state);
        }

        // NOTE: with valid UTF-8 only an escaped surrogate can still be unreadable. Walking every event's document costs
        // streams dearly, so walk only when one is there.
        if (HasSurrogateEscape(data.Span) && CheckAnswerText(document.RootElement) is { } textError)
        {
            document.Dispose();
            document = null!;
            return textError;
        }

        return null;
    }

    /// <summary>Whether <paramref name="data"/> holds a <c>\uD800</c>–<c>\uDFFF</c> escape.</summary>
    public static bool HasSurrogateEscape(ReadOnlySpan<byte> data)
    {
        for (var at = data.IndexOf("\\u"u8); at >= 0; at = data.IndexOf("\\u"u8))
        {
            if (at + 3 < data.Length && data[at + 2] is (byte)'d' or (byte)'D' && data[at + 3] is >= (byte)'8' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F')
            {
                return true;
            }

            data = data[(at + 2)..];
        }

        return false;
    }

    /// <summary>
    /// The error of field <c>{path}.{name}</c>, reported under <paramref name="at"/>'s param: the
    /// <see cref="RequiredString{TPath}"/> callback for a path and param given as a pair.
    /// </summary>
    public static RelayError InvalidField((string Path, string Param) at, string name, string problem) =>
        RelayError.Invalid($"{at.Path}.{name}: {problem}", at.Param);

    /// <summary>
    /// A string field that must be there (absent or null is "field required"). <paramref name="invalid"/> builds the error
    /// from (<paramref name="at"/>, name, problem) only when there is one, so a nested path is formatted only then.
    /// </summary>
    public static RelayError? RequiredString<TPath>(JsonElement obj, string name, TPath at, Func<TPath, string, string, RelayError> invalid, out string value)
    {
        value = string.Empty;
        if (!TryGetPresent(obj, name, out var element))
        {
            return invalid(at, name, "field required");
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return invalid(at, name, "must be a string");
        }

        value = element.GetString()!;
        return null;
    }

    /// <summary>An optional string field; absent or null is null, anything but a string an error naming <paramref name="field"/> (default: the name) under <paramref name="param"/> (default: the field).</summary>
    /// <remarks>Safe before <see cref="CheckText"/>: unreadable text is an error here too (a request's head is read without that walk).</remarks>
    public static RelayError? ReadString(JsonElement obj, string name, out string? value, string? field = null, string? param = null)
    {
        value = null;
        if (!TryGetPresent(obj, name, out var element))
        {
            return null;
        }

        if (!TryReadText(element, out value))
        {
            field ??= name;
            return RelayError.Invalid($"{field}: {(element.ValueKind == JsonValueKind.String ? Unreadable : "must be a string")}", param ?? field);
        }

        return null;
    }

    /// <summary>
    /// The model named in a request body, which must be a JSON object (<paramref name="bodyName"/> names it in the error:
    /// each API words it its own way): required (absent or null is "field required"), a non-empty string of readable
    /// text, at most <see cref="RequestHead.MaxModelLength"/> characters. Every body-driven format starts its request head with it.
    /// </summary>
    public static RelayError? RequiredModel(JsonElement body, string bodyName, out string model)
    {
        model = string.Empty;
        if (body.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid($"{bodyName}: must be a JSON object");
        }

        if (!TryGetPresent(body, "model", out var element))
        {
            return RelayError.Invalid("model: field required", "model");
        }

        if (!TryReadText(element, out var text) || text is not { Length: > 0 })
        {
            return RelayError.Invalid(element.ValueKind == JsonValueKind.String && text is null ? $"model: {Unreadable}" : "model: must be a non-empty string", "model");
        }

        model = text;
        return RequestHead.CheckModelLength(text);
    }

    /// <summary>An optional boolean field; absent or null is null, anything but true or false an error naming <paramref name="field"/> (default: the name).</summary>
    public static RelayError? ReadBool(JsonElement obj, string name, out bool? value, string? field = null)
    {
        value = null;
        if (!TryGetPresent(obj, name, out var element))
        {
            return null;
        }

        if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            field ??= name;
            return RelayError.Invalid($"{field}: must be a boolean", field);
        }

        value = element.GetBoolean();
        return null;
    }

    /// <summary>A number field; absent or null is null, anything but a number an error naming <paramref name="field"/>.</summary>
    public static RelayError? ReadNumber(JsonElement obj, string name, out double? value, string? field = null)
    {
        value = null;
        return TryGetPresent(obj, name, out var element) ? Number(element, field ?? name, out value) : null;
    }

    /// <summary>A present element that must be a number.</summary>
    public static RelayError? Number(JsonElement element, string field, out double? value)
    {
        value = null;
        if (element.ValueKind != JsonValueKind.Number)
        {
            return RelayError.Invalid($"{field}: must be a number", field);
        }

        value = element.GetDouble();
        return null;
    }

    /// <summary>An integer field (64-bit); absent or null is null, anything else an error naming <paramref name="field"/>.</summary>
    public static RelayError? ReadInteger(JsonElement obj, string name, out long? value, string? field = null)
    {
        value = null;
        return TryGetPresent(obj, name, out var element) ? Integer(element, field ?? name, out value) : null;
    }

    /// <summary>A present element that must be an integer.</summary>
    public static RelayError? Integer(JsonElement element, string field, out long? value)
    {
        value = null;
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var number))
        {
            return RelayError.Invalid($"{field}: must be an integer", field);
        }

        value = number;
        return null;
    }

    /// <summary>A positive 32-bit integer field; absent or null is null.</summary>
    public static RelayError? ReadPositiveInt(JsonElement obj, string name, out int? value, string? field = null)
    {
        value = null;
        return TryGetPresent(obj, name, out var element) ? PositiveInt(element, field ?? name, out value) : null;
    }

    /// <summary>A present element that must be an integer of at least 1.</summary>
    public static RelayError? PositiveInt(JsonElement element, string field, out int? value)
    {
        value = null;
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var number) || number < 1)
        {
            return RelayError.Invalid($"{field}: must be a positive integer", field);
        }

        value = number;
        return null;
    }

    /// <summary>
    /// A stop-sequence list: an array of strings, or (when <paramref name="allowSingle"/>, OpenAI's <c>stop</c>) one
    /// string. Absent or null is empty.
    /// </summary>
    public static RelayError? ReadStopSequences(JsonElement obj, string name, out IReadOnlyList<string> values, string? field = null, bool allowSingle = false)
    {
        values = [];
        return TryGetPresent(obj, name, out var element) ? StopSequences(element, field ?? name, out values, allowSingle) : null;
    }

    /// <summary>A present element that must be an array of strings (or one string when <paramref name="allowSingle"/>).</summary>
    public static RelayError? StopSequences(JsonElement element, string field, out IReadOnlyList<string> values, bool allowSingle = false)
    {
        values = [];
        if (allowSingle && element.ValueKind == JsonValueKind.String)
        {
            values = [element.GetString()!];
            return null;
        }

        var problem = allowSingle ? "must be a string or an array of strings" : "must be an array of strings";
        if (element.ValueKind != JsonValueKind.Array)
        {
            return RelayError.Invalid($"{field}: {problem}", field);
        }

        var list = new List<string>(element.GetArrayLength());
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return RelayError.Invalid($"{field}: {problem}", field);
            }

            list.Add(item.GetString()!);
        }

        values = list;
        return null;
    }

    /// <summary>
    /// OpenAI's keyword tool choices (<c>"auto"</c>, <c>"none"</c>, <c>"required"</c>), shared by Chat Completions and
    /// Responses; null for any other element (the caller reads its object form or refuses).
    /// </summary>
    public static ToolChoice? ToolChoiceKeyword(JsonElement choice) =>
        choice.ValueKind != JsonValueKind.String ? null
        : choice.ValueEquals("auto"u8) ? new ToolChoice(ToolChoiceKind.Auto)
        : choice.ValueEquals("none"u8) ? new ToolChoice(ToolChoiceKind.None)
        : choice.ValueEquals("required"u8) ? new ToolChoice(ToolChoiceKind.Required)
        : null;

    // ---- writers ----

    // NOTE: "IfPresent" writes nothing for null (an optional request setting the client left out); "OrNull" writes
    // an explicit null (a field a response object always carries).
    public static void WriteNumberIfPresent(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    public static void WriteNumberIfPresent(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    public static void WriteBooleanIfPresent(Utf8JsonWriter writer, string name, bool? value)
    {
        if (value is { } flag)
        {
            writer.WriteBoolean(name, flag);
        }
    }

    /// <summary>Writes the first <paramref name="max"/> of <paramref name="values"/> as an array; nothing when there are none.</summary>
    public static void WriteStringsIfAny(Utf8JsonWriter writer, string name, IReadOnlyList<string> values, int max = int.MaxValue)
    {
        if (values.Count == 0)
        {
            return;
        }

        writer.WriteStartArray(name);
        for (var i = 0; i < Math.Min(values.Count, max); i++)
        {
            writer.WriteStringValue(values[i]);
        }

        writer.WriteEndArray();
    }

    public static void WriteStringIfPresent(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    public static void WriteStringOrNull(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    public static void WriteNumberOrNull(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    public static void WriteNumberOrNull(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    public static void WriteNumberOrNull(Utf8JsonWriter writer, string name, decimal? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    // ---- text checking ----

    /// <summary>The path below <paramref name="element"/> of its first unreadable string (empty: the element itself), or null.</summary>
    private static string? FindUnreadable(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return IsReadable(JsonMarshal.GetRawUtf8Value(element)) ? null : string.Empty;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!IsReadable(JsonMarshal.GetRawUtf8PropertyName(property)))
                    {
                        // The name itself cannot be printed; name the object that holds it.
                        return string.Empty;
                    }

                    if (FindUnreadable(property.Value) is { } rest)
                    {
                        return "." + property.Name + rest;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindUnreadable(item) is { } rest)
                    {
                        return $"[{index}]{rest}";
                    }

                    index++;
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// Whether raw string bytes (as in the document, escapes not undone) decode to text. Valid UTF-8 without a
    /// backslash is readable as it stands; escaped text is decoded once to find an unpaired <c>\uD800</c>-style escape.
    /// </summary>
    private static bool IsReadable(ReadOnlySpan<byte> raw)
    {
        if (!Utf8.IsValid(raw))
        {
            return false;
        }

        if (raw.IndexOf((byte)'\\') < 0)
        {
            return true;
        }

        // NOTE: rare (escapes in client text are mostly \n and \"), so a decode through the reader is cheap enough.
        // A value's raw bytes keep their quotes; a property name's do not.
        var reader = new Utf8JsonReader(raw.Length >= 2 && raw[0] == (byte)'"' ? raw : Quoted(raw));
        try
        {
            reader.Read();
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static byte[] Quoted(ReadOnlySpan<byte> raw)
    {
        var quoted = new byte[raw.Length + 2];
        quoted[0] = (byte)'"';
        raw.CopyTo(quoted.AsSpan(1));
        quoted[^1] = (byte)'"';
        return quoted;
    }
}
