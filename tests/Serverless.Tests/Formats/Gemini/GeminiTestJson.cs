using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.Sse;
using Xunit;

namespace Serverless.Tests.Formats.Gemini;

/// <summary>Small helpers that turn JSON text into elements and writer output into text.</summary>
internal static class GeminiTestJson
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

    /// <summary>Single quotes stand for double quotes, so expected JSON reads without escapes.</summary>
    public static string Q(string json) => json.Replace('\'', '"');

    public static ChatRequest ReadRequest(string json, string model = "models/gemini-2.5-flash", bool stream = false)
    {
        var parsed = GeminiFormat.Instance.ReadRequest(Parse(json), model, stream);
        Assert.True(parsed.IsSuccess, parsed.Error?.Message);
        return parsed.Value!;
    }

    public static RelayError ReadRequestError(string json, string? model = "gemini-2.5-flash")
    {
        var parsed = GeminiFormat.Instance.ReadRequest(Parse(json), model, stream: false);
        Assert.False(parsed.IsSuccess);
        return parsed.Error!;
    }

    public static string WriteRequest(ChatRequest request, string model = "gemini-2.5-flash") =>
        Write(writer => GeminiFormat.Instance.WriteRequest(request, model, writer));

    public static List<StreamEvent> Decode(params string[] chunks)
    {
        var decoder = GeminiFormat.Instance.CreateStreamDecoder();
        var events = new List<StreamEvent>();
        foreach (var chunk in chunks)
        {
            var error = decoder.Decode(new SseEvent(null, chunk), events);
            Assert.Null(error);
        }

        Assert.Null(decoder.Complete(events));
        return events;
    }

    public static string Encode(IEnumerable<StreamEvent> events)
    {
        var encoder = GeminiFormat.Instance.CreateStreamEncoder(new ChatRequest { Model = "m", Messages = [] });
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var streamEvent in events)
        {
            encoder.Write(streamEvent, buffer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
