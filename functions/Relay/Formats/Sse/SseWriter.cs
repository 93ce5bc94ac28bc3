using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Serverless.Relay.Formats.Sse;

/// <summary>Writes SSE frames. Every encoder uses this so frames are framed one way.</summary>
internal static class SseWriter
{
    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] Newline = "\n"u8.ToArray();

    /// <summary>Writes <c>event: name\ndata: json\n\n</c>; the event line is omitted when <paramref name="eventName"/> is null.</summary>
    public static void WriteJson(IBufferWriter<byte> output, string? eventName, Action<Utf8JsonWriter> writeData)
    {
        if (eventName is not null)
        {
            output.Write(EventPrefix);
            WriteUtf8(output, eventName);
            output.Write(Newline);
        }

        output.Write(DataPrefix);
        WriteUnframedJson(output, writeData);
        output.Write(Newline);
    }

    /// <summary>
    /// Writes <c>json\n</c>, a JSON document on a line of its own outside any frame: how Gemini's stream ends with an
    /// error, the one form Google's SDKs raise (<see cref="Gemini.GeminiStreamEncoder.WriteError"/>).
    /// </summary>
    public static void WriteUnframedJson(IBufferWriter<byte> output, Action<Utf8JsonWriter> writeData)
    {
        using (var json = new Utf8JsonWriter(output, JsonWriterOptions))
        {
            writeData(json);
        }

        output.Write(Newline);
    }

    /// <summary>Writes a raw data frame, e.g. OpenAI's <c>data: [DONE]</c>.</summary>
    public static void WriteRaw(IBufferWriter<byte> output, string? eventName, ReadOnlySpan<byte> data)
    {
        if (eventName is not null)
        {
            output.Write(EventPrefix);
            WriteUtf8(output, eventName);
            output.Write(Newline);
        }

        output.Write(DataPrefix);
        output.Write(data);
        output.Write(Newline);
        output.Write(Newline);
    }

    // NOTE: the default encoder escapes non-ASCII and HTML characters; upstreams send them raw, and clients accept both.
    internal static readonly JsonWriterOptions JsonWriterOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    private static void WriteUtf8(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        var written = Encoding.UTF8.GetBytes(text, span);
        output.Advance(written);
    }
}
