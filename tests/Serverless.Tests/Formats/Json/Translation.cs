using System.Buffers;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Gemini;
using Xunit;

namespace Serverless.Tests.Formats.Json;

/// <summary>A client body read into the canonical request, and that request written as an upstream body, for translation tests.</summary>
internal static class Translation
{
    /// <summary>Reads <paramref name="body"/>, which the format must accept (Gemini's model comes from the URL).</summary>
    public static ChatRequest Read(IChatFormat format, string body)
    {
        var result = format.ReadRequest(Parse(body), format is GeminiFormat ? "gemini-2.5-flash" : null, false);
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Value!;
    }

    public static JsonElement Write(ChatRequest request, IChatFormat upstream)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            upstream.WriteRequest(request, "upstream-model", writer);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
