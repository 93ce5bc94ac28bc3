using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.Sse;
using Xunit;

namespace Serverless.Tests.Formats.OpenAIChat;

/// <summary>A clock that stands still, so <c>created</c> is predictable.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

internal static class OpenAIChatTestSupport
{
    public const long Now = 1_767_225_600; // 2026-01-01T00:00:00Z

    public static readonly OpenAIChatFormat Format = new(OpenAIChatDialect.OpenAI, new FixedTimeProvider(DateTimeOffset.FromUnixTimeSeconds(Now)));

    public static readonly OpenAIChatFormat CompatibleFormat = new(OpenAIChatDialect.Compatible, new FixedTimeProvider(DateTimeOffset.FromUnixTimeSeconds(Now)));

    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>Re-writes JSON without whitespace, so expectations can be laid out readably.</summary>
    public static string Compact(string json) => Write(writer => Parse(json).WriteTo(writer));

    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, SseWriter.JsonWriterOptions))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static ChatRequest ReadRequest(string json)
    {
        var parsed = Format.ReadRequest(Parse(json), modelFromPath: null, stream: false);
        Assert.Null(parsed.Error);
        return parsed.Value!;
    }

    public static string Encode(ChatRequest request, params StreamEvent[] events)
    {
        var encoder = Format.CreateStreamEncoder(request);
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var streamEvent in events)
        {
            encoder.Write(streamEvent, buffer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Decodes a recorded SSE body (<c>data: ...</c> frames separated by blank lines), then completes.</summary>
    public static (List<StreamEvent> Events, RelayErrorResult Error) Decode(string sse, bool complete = true)
    {
        var decoder = Format.CreateStreamDecoder();
        var events = new List<StreamEvent>();
        foreach (var data in DataOf(sse))
        {
            if (decoder.Decode(new SseEvent(null, data), events) is { } error)
            {
                return (events, new RelayErrorResult(error));
            }
        }

        return (events, new RelayErrorResult(complete ? decoder.Complete(events) : null));
    }

    /// <summary>The <c>data:</c> payloads of an SSE body, one per frame.</summary>
    public static List<string> DataOf(string sse)
    {
        var result = new List<string>();
        foreach (var frame in sse.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = new List<string>();
            foreach (var line in frame.Split('\n'))
            {
                if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    lines.Add(line[5..].TrimStart(' '));
                }
            }

            if (lines.Count > 0)
            {
                result.Add(string.Join('\n', lines));
            }
        }

        return result;
    }
}

/// <summary>Wraps a nullable error so tuples read clearly in assertions.</summary>
internal readonly record struct RelayErrorResult(RelayError? Value);
