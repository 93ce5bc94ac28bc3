using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Tests.Formats.OpenAIResponses;

/// <summary>Small JSON helpers for the Responses format tests.</summary>
internal static class ResponsesTestJson
{
    /// <summary>A request that sets everything a Responses answer repeats back, streamed or not.</summary>
    public static readonly ChatRequest WithEchoedSettings = new()
    {
        Model = "m",
        Messages = [],
        System = [new TextPart("Be brief.")],
        Tools = [new ToolDefinition("f", "Does f", new JsonObject { ["type"] = "object" })],
        ToolChoice = new ToolChoice(ToolChoiceKind.Required),
        ParallelToolCalls = false,
        MaxOutputTokens = 50,
        Temperature = 0.25,
        TopP = 0.5,
        User = "u1",
    };

    /// <summary>Parses JSON written with single quotes for readability (no test text contains an apostrophe).</summary>
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json.Replace('\'', '"'));
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

    /// <summary>Compact form of a single-quoted JSON literal, for exact comparisons.</summary>
    public static string Compact(string json) => Write(writer => Parse(json).WriteTo(writer));
}

/// <summary>A clock stopped at one instant.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public static readonly FixedTimeProvider At1741290958 = new(DateTimeOffset.FromUnixTimeSeconds(1741290958));

    public override DateTimeOffset GetUtcNow() => now;
}
