using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Relaying;

/// <summary>Writes the upstream request body of one call (YARP's request transform): passthrough or translating.</summary>
internal interface IUpstreamTransform
{
    HttpContent CreateContent(RelayRequest request, IChatFormat upstreamFormat, string upstreamModel);
}

/// <summary>
/// The upstream speaks the client's format: the client's bytes as they came, so upstream prompt caching and every
/// field the relay does not model survive. Only two things may change: the model name (a model map), and OpenAI's
/// <c>stream_options.include_usage</c>, which the relay needs to meter a stream (the usage chunk it adds is then hidden
/// from the client). Neither needs a parse when nothing changes, and either is made in the bytes when one does
/// (<see cref="PassthroughBodyEdit"/>).
/// </summary>
internal sealed class PassthroughTransform : IUpstreamTransform
{
    public static readonly PassthroughTransform Instance = new();

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    public HttpContent CreateContent(RelayRequest request, IChatFormat upstreamFormat, string upstreamModel)
    {
        var format = upstreamFormat.Format;
        var head = request.Head;

        // Gemini carries the model in the URL, never in the body.
        var renameModel = format != WireFormat.Gemini && !string.Equals(upstreamModel, head.Model, StringComparison.Ordinal);
        var addUsage = format == WireFormat.OpenAIChat && head.Stream && !head.StreamUsage;
        if (!renameModel && !addUsage)
        {
            return new ReadOnlyMemoryContent(request.Body) { Headers = { ContentType = Json } };
        }

        var edited = PassthroughBodyEdit.Apply(request.Body.Span, renameModel ? upstreamModel : null, addUsage);
        return new ByteArrayContent(edited) { Headers = { ContentType = Json } };
    }

    /// <summary>The client did not ask for OpenAI's usage chunk, so the one the relay asked for is not relayed.</summary>
    public static bool HidesUsageChunk(RelayRequest request) =>
        request.Api.Format.Format == WireFormat.OpenAIChat && request.Head.Stream && !request.Head.StreamUsage;
}

/// <summary>The upstream speaks another format (or the request was built in code): written from the canonical request.</summary>
internal sealed class TranslatingTransform : IUpstreamTransform
{
    public static readonly TranslatingTransform Instance = new();

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    public HttpContent CreateContent(RelayRequest request, IChatFormat upstreamFormat, string upstreamModel)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, SseWriter.JsonWriterOptions))
        {
            upstreamFormat.WriteRequest(request.Chat, upstreamModel, writer);
        }

        return new ByteArrayContent(buffer.WrittenSpan.ToArray()) { Headers = { ContentType = Json } };
    }
}
