using System.Buffers;
using System.Text.Json;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.OpenAIResponses;
using Serverless.Relay.Formats.Sse;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>Writes the upstream request body of one call (YARP's request transform): passthrough or translating.</summary>
internal interface IUpstreamTransform
{
    UpstreamBody CreateContent(RelayRequest request, IChatFormat upstreamFormat, string upstreamModel);
}

/// <summary>
/// The upstream speaks the client's format: the client's bytes as they came, so upstream prompt caching and every
/// field the relay does not model survive. Only three things may change: the model name (a model map), OpenAI's
/// <c>stream_options.include_usage</c>, which the relay needs to meter a stream (the usage chunk it adds is then hidden
/// from the client), and a Responses input's reasoning items that carry another provider's signature under the relay's
/// tag (<see cref="ResponsesSignedReasoning"/>), which OpenAI would refuse. None needs a new parse, and each is made in
/// the bytes when one applies (<see cref="PassthroughBodyEdit"/>).
/// </summary>
internal sealed class PassthroughTransform : IUpstreamTransform
{
    public static readonly PassthroughTransform Instance = new();

    public UpstreamBody CreateContent(RelayRequest request, IChatFormat upstreamFormat, string upstreamModel)
    {
        var format = upstreamFormat.Format;
        var head = request.Head;

        // Gemini carries the model in the URL, never in the body.
        var renameModel = format != WireFormat.Gemini && !string.Equals(upstreamModel, head.Model, StringComparison.Ordinal);
        var addUsage = format == WireFormat.OpenAIChat && head.Stream && !head.StreamUsage;

        // NOTE: a model whose pool mixes OpenAI accounts with Claude or Gemini ones hands a Codex session's reasoning
        // items, signed by whichever answered, to either; the parsed body tells which items carry the tag. A Codex
        // body holds hundreds of items and nearly never the tag, so one scan of its bytes comes before the walk.
        var foreignReasoning = format == WireFormat.OpenAIResponses && request.Json is { } json && request.Body.Span.IndexOf("\"relay:"u8) >= 0
            ? ResponsesSignedReasoning.TaggedInputItems(json)
            : null;
        if (!renameModel && !addUsage && foreignReasoning is null)
        {
            return new UpstreamBody(request.Body);
        }

        return new UpstreamBody(PassthroughBodyEdit.Apply(request.Body.Span, renameModel ? upstreamModel : null, addUsage, foreignReasoning));
    }

    /// <summary>The client did not ask for OpenAI's usage chunk, so the one the relay asked for is not relayed.</summary>
    public static bool HidesUsageChunk(RelayRequest request) =>
        request.Api.Format.Format == WireFormat.OpenAIChat && request.Head.Stream && !request.Head.StreamUsage;
}

/// <summary>The upstream speaks another format (or the request was built in code): written from the canonical request.</summary>
internal sealed class TranslatingTransform : IUpstreamTransform
{
    public static readonly TranslatingTransform Instance = new();

    public UpstreamBody CreateContent(RelayRequest request, IChatFormat upstreamFormat, string upstreamModel)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, SseWriter.JsonWriterOptions))
        {
            upstreamFormat.WriteRequest(request.Chat, upstreamModel, writer);
        }

        return new UpstreamBody(buffer.WrittenSpan.ToArray());
    }
}
