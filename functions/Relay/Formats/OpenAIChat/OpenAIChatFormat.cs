using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>
/// OpenAI Chat Completions, as the client API and as the upstream format of OpenAI, Azure OpenAI and every server that
/// copies it. The two instances differ only in what they write upstream (see <see cref="OpenAIChatDialect"/>).
/// </summary>
internal sealed class OpenAIChatFormat : IChatFormat
{
    /// <summary>For OpenAI and Azure OpenAI: writes <c>max_completion_tokens</c>.</summary>
    public static readonly OpenAIChatFormat Default = new(OpenAIChatDialect.OpenAI, TimeProvider.System);

    /// <summary>For Ollama, OpenRouter, vLLM and other compatible servers: writes <c>max_tokens</c> and <c>cache_control</c>.</summary>
    public static readonly OpenAIChatFormat Compatible = new(OpenAIChatDialect.Compatible, TimeProvider.System);

    private readonly OpenAIChatDialect _dialect;
    private readonly TimeProvider _timeProvider;

    /// <param name="timeProvider">Stamps <c>created</c> when the canonical answer has none (streams never carry one).</param>
    public OpenAIChatFormat(OpenAIChatDialect dialect, TimeProvider timeProvider)
    {
        _dialect = dialect;
        _timeProvider = timeProvider;
    }

    public WireFormat Format => WireFormat.OpenAIChat;

    public Result<ChatRequest> ReadRequest(JsonElement body, string? modelFromPath, bool stream) =>
        WholeRequest.Read(this, body, modelFromPath, stream);

    public Result<ChatRequest> ReadRequest(JsonElement body, RequestHead head) => OpenAIChatRequestReader.Read(body, head);

    public Result<RequestHead> ReadHead(JsonElement body, string? modelFromPath, bool stream) => OpenAIChatRequestReader.ReadHead(body);

    public void ReadConversationStart(JsonElement body, IConversationStart to) => OpenAIChatRequestReader.ReadConversationStart(body, to);

    public bool TryTallyPrompt(JsonElement body, IPromptTally to) => OpenAIChatPromptTally.TryTally(body, to);

    public void WriteResponse(ChatResponse response, ChatRequest request, Utf8JsonWriter writer) =>
        OpenAIChatResponseWriter.Write(response, request, response.CreatedOr(_timeProvider), writer);

    public IStreamEncoder CreateStreamEncoder(ChatRequest request) => new OpenAIChatStreamEncoder(request, Now());

    public int StatusCodeOf(RelayError error) => OpenAIErrors.StatusCodeOf(error);

    public void WriteError(RelayError error, Utf8JsonWriter writer) => OpenAIErrors.Write(error, writer);

    public void WriteRequest(ChatRequest request, string upstreamModel, Utf8JsonWriter writer) =>
        OpenAIChatRequestWriter.Write(request, upstreamModel, _dialect, writer);

    /// <summary>Chat Completions has no file URL (https://platform.openai.com/docs/guides/pdf-files): documents go inline only.</summary>
    public RelayError? CannotCarry(ChatRequest request)
    {
        foreach (var message in request.Messages)
        {
            foreach (var part in message.Content)
            {
                if (part is DocumentPart { Data: null })
                {
                    return RelayError.Invalid(
                        "a document given by URL cannot be sent to the upstream serving this model, which speaks OpenAI Chat Completions and takes files inline only; send the file's data instead");
                }
            }
        }

        return null;
    }

    public Result<ChatResponse> ReadResponse(JsonElement body) => OpenAIChatResponseReader.Read(body);

    public AnswerMetering? MeterResponse(ReadOnlyMemory<byte> body) => OpenAIChatResponseReader.Meter(body.Span);

    public UpstreamToolNames ToolNames => UpstreamToolNames.OpenAI;

    public IStreamDecoder CreateStreamDecoder() => new OpenAIChatStreamDecoder();

    public string? ReadErrorMessage(JsonElement body) => OpenAIChatWire.ReadErrorMessage(body);

    private long Now() => _timeProvider.GetUtcNow().ToUnixTimeSeconds();
}
