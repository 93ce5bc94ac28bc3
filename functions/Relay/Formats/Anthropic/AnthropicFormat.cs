using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>The Anthropic Messages API (<c>POST /v1/messages</c>), as a client API and as an upstream.</summary>
internal sealed class AnthropicFormat : IChatFormat
{
    public static readonly AnthropicFormat Instance = new();

    private AnthropicFormat()
    {
    }

    public WireFormat Format => WireFormat.Anthropic;

    public Result<ChatRequest> ReadRequest(JsonElement body, string? modelFromPath, bool stream) => WholeRequest.Read(this, body, modelFromPath, stream);

    public Result<ChatRequest> ReadRequest(JsonElement body, RequestHead head) => AnthropicRequestReader.Read(body, head);

    public Result<RequestHead> ReadHead(JsonElement body, string? modelFromPath, bool stream) => AnthropicRequestReader.ReadHead(body);

    public void ReadConversationStart(JsonElement body, IConversationStart to) => AnthropicRequestReader.ReadConversationStart(body, to);

    public bool TryTallyPrompt(JsonElement body, IPromptTally to) => AnthropicPromptTally.TryTally(body, to);

    public void WriteResponse(ChatResponse response, ChatRequest request, Utf8JsonWriter writer) => AnthropicResponseWriter.Write(response, writer);

    public IStreamEncoder CreateStreamEncoder(ChatRequest request) => new AnthropicStreamEncoder();

    public int StatusCodeOf(RelayError error) => AnthropicErrors.StatusCodeOf(error);

    public void WriteError(RelayError error, Utf8JsonWriter writer) => AnthropicErrors.Write(error, writer);

    public void WriteRequest(ChatRequest request, string upstreamModel, Utf8JsonWriter writer) =>
        AnthropicRequestWriter.Write(request, upstreamModel, writer);

    public Result<ChatResponse> ReadResponse(JsonElement body) => AnthropicResponseReader.Read(body);

    public IStreamDecoder CreateStreamDecoder() => new AnthropicStreamDecoder();

    public string? ReadErrorMessage(JsonElement body) => AnthropicErrors.ReadMessage(body);
}
