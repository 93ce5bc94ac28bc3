using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>
/// Gemini <c>generateContent</c> / <c>streamGenerateContent?alt=sse</c>, as a client API and as an upstream.
/// The model and streaming come from the URL (<c>models/{model}:generateContent</c>), never from the body.
/// </summary>
internal sealed class GeminiFormat : IChatFormat
{
    public static readonly GeminiFormat Instance = new();

    private GeminiFormat()
    {
    }

    public WireFormat Format => WireFormat.Gemini;

    public Result<ChatRequest> ReadRequest(JsonElement body, string? modelFromPath, bool stream) =>
        WholeRequest.Read(this, body, modelFromPath, stream);

    public Result<ChatRequest> ReadRequest(JsonElement body, RequestHead head) => GeminiRequestReader.Read(body, head);

    public Result<RequestHead> ReadHead(JsonElement body, string? modelFromPath, bool stream) =>
        GeminiRequestReader.ReadHead(body, modelFromPath, stream);

    public void ReadConversationStart(JsonElement body, IConversationStart to) => GeminiRequestReader.ReadConversationStart(body, to);

    public bool TryTallyPrompt(JsonElement body, IPromptTally to) => GeminiPromptTally.TryTally(body, to);

    public void WriteResponse(ChatResponse response, ChatRequest request, Utf8JsonWriter writer) => GeminiResponseWriter.Write(response, writer);

    public IStreamEncoder CreateStreamEncoder(ChatRequest request) => new GeminiStreamEncoder();

    public int StatusCodeOf(RelayError error) => GeminiErrors.StatusCodeOf(error);

    public void WriteError(RelayError error, Utf8JsonWriter writer) => GeminiErrors.Write(error, writer);

    public void WriteRequest(ChatRequest request, string upstreamModel, Utf8JsonWriter writer) =>
        GeminiRequestWriter.Write(request, upstreamModel, writer);

    public Result<ChatResponse> ReadResponse(JsonElement body) => GeminiResponseReader.Read(body);

    public UpstreamToolNames ToolNames => UpstreamToolNames.Gemini;

    public IStreamDecoder CreateStreamDecoder() => new GeminiStreamDecoder();

    public string? ReadErrorMessage(JsonElement body) => GeminiErrors.ReadMessage(body);
}
