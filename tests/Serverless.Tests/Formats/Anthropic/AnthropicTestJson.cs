using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Tests.Formats.Anthropic;

/// <summary>JSON in and out for the Anthropic format tests, written the way the relay writes (relaxed escaping).</summary>
internal static class AnthropicTestJson
{
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, SseWriter.JsonWriterOptions))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Re-serializes compactly so expected JSON can be written readably in raw string literals.</summary>
    public static string Compact(string json) => Write(writer => Parse(json).WriteTo(writer));
}
