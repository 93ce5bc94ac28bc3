using System.Buffers;
using System.Text.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The changes a passthrough may make to a client's JSON body (<see cref="PassthroughTransform"/>), made in its
/// bytes: the top-level <c>model</c> value replaced (or added), <c>stream_options.include_usage</c> set to true (added, or
/// the existing value replaced), and items of the top-level <c>input</c> array left out. Every other byte goes upstream
/// as the client sent it.
/// </summary>
/// <remarks>
/// NOTE: why not a <c>JsonNode</c> round trip (what this replaced). It built a tree of the whole body, prompts included,
/// to change one value, and wrote it back re-encoded: non-ASCII text escaped (six bytes per CJK character instead of
/// three), numbers and escapes rewritten. Streams from clients that do not ask for usage themselves (most, outside
/// the OpenAI .NET SDK) all took that path.
/// </remarks>
internal static class PassthroughBodyEdit
{
    private static readonly byte[] UsageOptions = """{"include_usage":true}"""u8.ToArray();

    /// <param name="body">A JSON object: the client's body, already parsed once, so known to be valid.</param>
    /// <param name="model">The model name to write, or null to leave it.</param>
    /// <param name="includeUsage">Whether to ask for the usage chunk.</param>
    /// <param name="dropInput">Positions in the <c>input</c> array of the items to leave out, ascending; null for none.</param>
    public static byte[] Apply(ReadOnlySpan<byte> body, string? model, bool includeUsage, IReadOnlyList<int>? dropInput = null)
    {
        var edits = new List<Edit>(2);

        // A byte-order mark, which the client's parse allowed, is not JSON to the reader; it is passed on as sent.
        var bom = body.StartsWith("\uFEFF"u8) ? 3 : 0;
        var reader = new Utf8JsonReader(body[bom..]);
        reader.Read(); // the object
        var objectStart = bom + (int)reader.TokenStartIndex;
        var sawOptions = false;
        var sawModel = false;
        var empty = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            empty = false;
            var isModel = model is not null && reader.ValueTextEquals("model"u8);
            var isOptions = includeUsage && reader.ValueTextEquals("stream_options"u8);
            var isInput = dropInput is { Count: > 0 } && reader.ValueTextEquals("input"u8);
            reader.Read();
            var valueStart = bom + (int)reader.TokenStartIndex;
            if (isOptions)
            {
                sawOptions = true;
                AskForUsage(ref reader, bom, edits);
                continue;
            }

            if (isInput && reader.TokenType == JsonTokenType.StartArray)
            {
                DropItems(ref reader, bom, dropInput!, edits);
                continue;
            }

            reader.Skip();
            if (isModel)
            {
                sawModel = true;
                edits.Add(new Edit(valueStart, bom + (int)reader.BytesConsumed, JsonString(model!)));
            }
        }

        // A property the body lacks is added first in the object (a body whose route named the model may have none).
        var added = new ArrayBufferWriter<byte>();
        if (model is not null && !sawModel)
        {
            added.Write("\"model\":"u8);
            added.Write(JsonString(model));
        }

        if (includeUsage && !sawOptions)
        {
            added.Write(added.WrittenCount > 0 ? ","u8 : default);
            added.Write("\"stream_options\":{\"include_usage\":true}"u8);
        }

        if (added.WrittenCount > 0)
        {
            added.Write(empty ? default : ","u8);
            edits.Add(new Edit(objectStart + 1, objectStart + 1, added.WrittenSpan.ToArray()));
        }

        return Splice(body, edits);
    }

    /// <summary>At <c>stream_options</c>' value: an object gets <c>include_usage: true</c>; anything else is replaced by one that has it.</summary>
    private static void AskForUsage(ref Utf8JsonReader reader, int offset, List<Edit> edits)
    {
        var valueStart = offset + (int)reader.TokenStartIndex;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            edits.Add(new Edit(valueStart, offset + (int)reader.BytesConsumed, UsageOptions));
            return;
        }

        var found = false;
        var empty = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            empty = false;
            var isUsage = reader.ValueTextEquals("include_usage"u8);
            reader.Read();
            var start = offset + (int)reader.TokenStartIndex;
            reader.Skip();
            if (isUsage)
            {
                found = true;
                edits.Add(new Edit(start, offset + (int)reader.BytesConsumed, "true"u8.ToArray()));
            }
        }

        if (!found)
        {
            edits.Add(new Edit(valueStart + 1, valueStart + 1, empty ? "\"include_usage\":true"u8.ToArray() : "\"include_usage\":true,"u8.ToArray()));
        }
    }

    /// <summary>
    /// At an array: the items at <paramref name="drop"/> are cut out with the comma that joined each to the next (or,
    /// for a run at the end, to the item before it), so what is left is the array of the other items.
    /// </summary>
    private static void DropItems(ref Utf8JsonReader reader, int offset, IReadOnlyList<int> drop, List<Edit> edits)
    {
        var items = new List<(int Start, int End)>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var start = offset + (int)reader.TokenStartIndex;
            reader.Skip();
            items.Add((start, offset + (int)reader.BytesConsumed));
        }

        var dropped = new bool[items.Count];
        foreach (var index in drop)
        {
            if ((uint)index < (uint)items.Count)
            {
                dropped[index] = true;
            }
        }

        // The run of dropped items that ends the array goes with the comma before it: nothing follows to take theirs.
        var tail = items.Count;
        while (tail > 0 && dropped[tail - 1])
        {
            tail--;
        }

        for (var i = 0; i < tail; i++)
        {
            if (dropped[i])
            {
                edits.Add(new Edit(items[i].Start, items[i + 1].Start, []));
            }
        }

        if (tail < items.Count)
        {
            edits.Add(new Edit(tail == 0 ? items[0].Start : items[tail - 1].End, items[^1].End, []));
        }
    }

    private static byte[] JsonString(string value)
    {
        var buffer = new ArrayBufferWriter<byte>(value.Length + 2);
        using (var writer = new Utf8JsonWriter(buffer, SseWriter.JsonWriterOptions))
        {
            writer.WriteStringValue(value);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Splice(ReadOnlySpan<byte> body, List<Edit> edits)
    {
        edits.Sort(static (a, b) => a.Start.CompareTo(b.Start));
        var length = body.Length;
        foreach (var edit in edits)
        {
            length += edit.Text.Length - (edit.End - edit.Start);
        }

        // The body is copied once, straight into the result.
        var output = new byte[length];
        int from = 0, to = 0;
        foreach (var edit in edits)
        {
            body[from..edit.Start].CopyTo(output.AsSpan(to));
            to += edit.Start - from;
            edit.Text.CopyTo(output, to);
            to += edit.Text.Length;
            from = edit.End;
        }

        body[from..].CopyTo(output.AsSpan(to));
        return output;
    }

    /// <summary>Bytes [<see cref="Start"/>, <see cref="End"/>) of the body become <see cref="Text"/>; an insertion when they are equal.</summary>
    private readonly record struct Edit(int Start, int End, byte[] Text);
}
