using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.OpenAIChat;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>
/// The OpenAI Responses API (<c>POST /v1/responses</c>), as a client API and as an upstream. Errors use OpenAI's shared
/// <c>{"error":{…}}</c> shape.
/// </summary>
/// <remarks>https://platform.openai.com/docs/api-reference/responses</remarks>
internal sealed class OpenAIResponsesFormat : IChatFormat
{
    public static readonly OpenAIResponsesFormat Instance = new(TimeProvider.System);

    private readonly TimeProvider _timeProvider;

    /// <param name="timeProvider">
    /// Stamps <c>created_at</c> on streamed answers (canonical stream events carry no time) and on answers whose upstream
    /// gave none.
    /// </param>
    internal OpenAIResponsesFormat(TimeProvider timeProvider) => _timeProvider = timeProvider;

    public WireFormat Format => WireFormat.OpenAIResponses;

    public Result<ChatRequest> ReadRequest(JsonElement body, string? modelFromPath, bool stream) => WholeRequest.Read(this, body, modelFromPath, stream);

    public Result<ChatRequest> ReadRequest(JsonElement body, RequestHead head) => ResponsesRequestReader.Read(body, head);

    public Result<RequestHead> ReadHead(JsonElement body, string? modelFromPath, bool stream) => ResponsesRequestReader.ReadHead(body);

    public void ReadConversationStart(JsonElement body, IConversationStart to) => ResponsesRequestReader.ReadConversationStart(body, to);

    public bool TryTallyPrompt(JsonElement body, IPromptTally to) => ResponsesPromptTally.TryTally(body, to);

    public void WriteResponse(ChatResponse response, ChatRequest request, Utf8JsonWriter writer) => ResponsesResponseWriter.Write(response, response.CreatedOr(_timeProvider), RequestEcho.From(request), writer);

    public IStreamEncoder CreateStreamEncoder(ChatRequest request) => new ResponsesStreamEncoder(request, _timeProvider);

    /// <summary>
    /// Continues the upstream's stream: its <c>sequence_number</c>s, so a relayed stream's error events do not restart
    /// at 0, and its response, which <c>response.failed</c> names.
    /// </summary>
    public IStreamEncoder CreateStreamEncoderAfter(IStreamDecoder passedThrough, ChatRequest request) =>
        passedThrough is ResponsesStreamDecoder decoder
            ? new ResponsesStreamEncoder(request, _timeProvider, decoder.NextSequenceNumber, decoder.Started)
            : new ResponsesStreamEncoder(request, _timeProvider);

    public int StatusCodeOf(RelayError error) => OpenAIErrors.StatusCodeOf(error);

    public void WriteError(RelayError error, Utf8JsonWriter writer) => OpenAIErrors.Write(error, writer);

    public void WriteRequest(ChatRequest request, string upstreamModel, Utf8JsonWriter writer) => ResponsesRequestWriter.Write(request, upstreamModel, writer);

    public Result<ChatResponse> ReadResponse(JsonElement body) => ResponsesResponseReader.Read(body);

    public UpstreamToolNames ToolNames => UpstreamToolNames.OpenAI;

    public IStreamDecoder CreateStreamDecoder() => new ResponsesStreamDecoder();

    public string? ReadErrorMessage(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (body.TryGetProperty("error", out var error))
        {
            if (error.ValueKind == JsonValueKind.Object)
            {
                return JsonFields.GetString(error, "message");
            }

            if (error.ValueKind == JsonValueKind.String)
            {
                return error.GetString();
            }
        }

        // Some compatible servers answer a flat {"message": …}.
        return JsonFields.GetString(body, "message");
    }
}
