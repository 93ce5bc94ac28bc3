using System.Buffers;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Formats;

/// <summary>
/// One wire format, both as a client API (read requests, write answers, stream events and errors) and as an upstream
/// (write requests, read answers, decode stream events). Implementations are stateless singletons;
/// per-stream state lives in the encoder/decoder they create.
/// </summary>
internal interface IChatFormat
{
    WireFormat Format { get; }

    // ---- client side ----

    /// <summary>
    /// Parses a client request body, head then rest (<see cref="WholeRequest"/>). <paramref name="modelFromPath"/> is set
    /// for APIs that carry the model in the URL (Gemini).
    /// </summary>
    /// <param name="stream">Set when the URL chose streaming (Gemini <c>:streamGenerateContent</c>); body-driven formats ignore it.</param>
    Result<ChatRequest> ReadRequest(JsonElement body, string? modelFromPath, bool stream);

    /// <summary>
    /// As <see cref="ReadRequest(JsonElement, string?, bool)"/> for a body whose <paramref name="head"/>
    /// <see cref="ReadHead"/> has read already: the rest of it, without reading and checking the head again.
    /// </summary>
    Result<ChatRequest> ReadRequest(JsonElement body, RequestHead head);

    /// <summary>
    /// Reads only the request's <see cref="RequestHead"/>, with the checks every request of this format must pass, and
    /// builds nothing else: what a same-format relay needs. <see cref="ReadRequest(JsonElement, string?, bool)"/> reads
    /// the head the same way first.
    /// </summary>
    Result<RequestHead> ReadHead(JsonElement body, string? modelFromPath, bool stream);

    /// <summary>
    /// Hands <paramref name="to"/> the text that identifies the conversation (the system prompt, then the first user
    /// message), read in place from a body whose head has been read: a sticky session's id when the client names none.
    /// </summary>
    void ReadConversationStart(JsonElement body, IConversationStart to);

    /// <summary>
    /// Hands <paramref name="to"/> the prompt of a body whose head has been read, part by part as the canonical request
    /// <see cref="ReadRequest(JsonElement, RequestHead)"/> would hold it, read in place: a token limit's estimate
    /// without building that request. False, and <paramref name="to"/> is to be dropped, wherever the reader could
    /// refuse the prompt (messages, system, tools, unreadable text); then count the canonical request, whose error is
    /// the answer. Fields outside the prompt (sampling, tool choice) are left to the upstream, as a same-format relay
    /// without a token limit leaves them.
    /// </summary>
    bool TryTallyPrompt(JsonElement body, IPromptTally to);

    /// <summary>
    /// Writes a complete answer in this format; <paramref name="request"/> is what the client asked, for a format whose
    /// answers repeat the request's settings (the Responses API's <c>instructions</c>, <c>tools</c>, …), as its stream
    /// encoder does.
    /// </summary>
    void WriteResponse(ChatResponse response, ChatRequest request, Utf8JsonWriter writer);

    /// <summary>A stateful encoder for one streamed answer to a client; <paramref name="request"/> is what that client asked (e.g. <see cref="ChatRequest.StreamUsage"/>).</summary>
    IStreamEncoder CreateStreamEncoder(ChatRequest request);

    /// <summary>
    /// An encoder that continues a stream whose events so far were the upstream's own, relayed as they came through
    /// <paramref name="passedThrough"/> (a same-format relay that must end the stream with its own error event). By
    /// default a fresh encoder; a format whose events are numbered continues the numbering.
    /// </summary>
    IStreamEncoder CreateStreamEncoderAfter(IStreamDecoder passedThrough, ChatRequest request) => CreateStreamEncoder(request);

    /// <summary>HTTP status for an error in this API's convention.</summary>
    int StatusCodeOf(RelayError error);

    /// <summary>Writes an error body in this API's shape.</summary>
    void WriteError(RelayError error, Utf8JsonWriter writer);

    // ---- upstream side ----

    /// <summary>Writes the upstream request body. <paramref name="upstreamModel"/> replaces <see cref="ChatRequest.Model"/> (Gemini puts it in the URL and ignores it here).</summary>
    void WriteRequest(ChatRequest request, string upstreamModel, Utf8JsonWriter writer);

    /// <summary>
    /// Why a request cannot be written in this format at all (a part it has no form for, such as a document by URL for
    /// Chat Completions), or null. A translated request leaves accounts spoken to in this format out of its plan rather
    /// than send them what they would refuse.
    /// </summary>
    RelayError? CannotCarry(ChatRequest request) => null;

    /// <summary>
    /// The rule this format holds tool names to as an upstream, or null for none: <see cref="WriteRequest"/> sends a
    /// name outside it in the form <see cref="UpstreamToolNames.Of"/> makes, and the relay puts the declared name back
    /// on the answer's calls (<see cref="UpstreamToolNames.MapOf"/>) before the client's format writes them.
    /// </summary>
    UpstreamToolNames? ToolNames => null;

    /// <summary>Reads a complete upstream answer.</summary>
    Result<ChatResponse> ReadResponse(JsonElement body);

    /// <summary>
    /// As <see cref="ReadResponse"/> for a same-format relay, which forwards the answer's bytes as they came: only what
    /// metering needs, or null when the body is not a readable answer. A format may read just those fields.
    /// </summary>
    AnswerMetering? MeterResponse(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var parsed = ReadResponse(document.RootElement);
            return parsed.IsSuccess ? AnswerMetering.Of(parsed.Value!) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A stateful decoder for one upstream stream.</summary>
    IStreamDecoder CreateStreamDecoder();

    /// <summary>Extracts the human-readable message from an upstream error body in this format, or null.</summary>
    string? ReadErrorMessage(JsonElement body);
}

/// <summary>Turns canonical events into this format's SSE frames for one client stream.</summary>
internal interface IStreamEncoder
{
    /// <summary>
    /// Writes zero or more complete SSE frames for <paramref name="streamEvent"/>. Usage may arrive after
    /// <see cref="MessageFinished"/> (OpenAI's usage chunk follows its finish chunk), so frames that carry final usage are
    /// written on <see cref="MessageStopped"/> from the usage accumulated so far.
    /// </summary>
    void Write(StreamEvent streamEvent, IBufferWriter<byte> output);

    /// <summary>Ends the stream with an error event in this format (after the first byte there is no status code left to set).</summary>
    void WriteError(RelayError error, IBufferWriter<byte> output);
}

/// <summary>Turns one upstream stream's SSE events into canonical events.</summary>
internal interface IStreamDecoder
{
    /// <summary>Decodes one SSE event; appends zero or more canonical events. Returns an error for an upstream error event or unreadable data.</summary>
    RelayError? Decode(SseEvent sseEvent, List<StreamEvent> output);

    /// <summary>
    /// As <see cref="Decode"/> for a same-format relay, which forwards every event's bytes and encodes none: only what
    /// metering needs must come out (<see cref="UsageReported"/>, <see cref="MessageFinished"/>, errors), so a format may
    /// skip the events that cannot carry it without parsing them.
    /// </summary>
    RelayError? Meter(SseEvent sseEvent, List<StreamEvent> output) => Decode(sseEvent, output);

    /// <summary>
    /// Called once when the upstream body ends. Appends <see cref="MessageStopped"/> (and any missing finish events) if the
    /// stream ended normally for this format (Gemini simply ends; OpenAI sends <c>[DONE]</c>; Anthropic <c>message_stop</c>),
    /// or returns an error if it ended before its end marker.
    /// </summary>
    RelayError? Complete(List<StreamEvent> output);
}
