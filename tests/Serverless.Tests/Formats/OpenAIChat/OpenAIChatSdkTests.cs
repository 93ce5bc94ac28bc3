using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using Serverless.Relay.Canonical;
using Xunit;
using static Serverless.Tests.Formats.OpenAIChat.OpenAIChatTestSupport;
using CanonicalRequest = Serverless.Relay.Canonical.ChatRequest;

namespace Serverless.Tests.Formats.OpenAIChat;

/// <summary>The official OpenAI .NET client talks to the format through a stub transport, both ways.</summary>
public sealed class OpenAIChatSdkTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task CompleteChat_OfficialClient_RequestReadAndResponseAccepted()
    {
        var ct = TestContext.Current.CancellationToken;
        var handler = new RelayStub(request => (
            "application/json",
            Write(writer => Format.WriteResponse(
                new ChatResponse
                {
                    Id = "chatcmpl-stub",
                    Model = "gpt-4o-2024-08-06",
                    Created = 1700000000,
                    Content = [new TextPart("Calling."), new ToolCallPart("call_9", "get_weather", """{"city":"Oslo"}""")],
                    StopReason = StopReason.ToolUse,
                    Usage = new Usage { InputTokens = 20, CacheReadTokens = 1280, OutputTokens = 15 },
                },
                AnswerOnly.Request,
                writer))));
        var client = CreateClient(handler);

        var completion = (await client.CompleteChatAsync(Conversation(), Options(), ct).WaitAsync(Timeout, ct)).Value;

        var request = handler.Request!;
        Assert.Equal("gpt-4o", request.Model);
        Assert.Equal([new TextPart("Be brief.")], request.System);
        Assert.Equal([new TextPart("Weather?"), new ImagePart { MediaType = "image/png", Data = "iVBORw0KGgo=" }], request.Messages[0].Content);
        Assert.Equal([new ToolCallPart("call_1", "get_weather", """{"city":"Paris"}""")], request.Messages[1].Content);
        var result = Assert.IsType<ToolResultPart>(Assert.Single(request.Messages[2].Content));
        Assert.Equal(("call_1", "get_weather", ChatRole.Tool), (result.ToolCallId, result.ToolName, request.Messages[2].Role));
        Assert.Equal("get_weather", Assert.Single(request.Tools).Name);
        Assert.Equal(new ToolChoice(ToolChoiceKind.Required), request.ToolChoice);
        Assert.False(request.ParallelToolCalls);
        Assert.Equal(0.25, request.Temperature);
        Assert.Equal(100, request.MaxOutputTokens);
        Assert.Equal(["END"], request.StopSequences);
        Assert.False(request.Stream);

        Assert.Equal("Calling.", Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal(("call_9", "get_weather", """{"city":"Oslo"}"""), (call.Id, call.FunctionName, call.FunctionArguments.ToString()));
        Assert.Equal((1300, 1280, 15), (completion.Usage.InputTokenCount, completion.Usage.InputTokenDetails.CachedTokenCount, completion.Usage.OutputTokenCount));
    }

    [Fact]
    public async Task CompleteChatStreaming_OfficialClient_ReceivesTextToolCallAndUsage()
    {
        var ct = TestContext.Current.CancellationToken;
        var handler = new RelayStub(request => ("text/event-stream", Encode(
            request,
            new MessageStarted("chatcmpl-stub", "gpt-4o"),
            new TextStarted(0),
            new TextDelta(0, "Calling"),
            new TextDelta(0, " now."),
            new BlockStopped(0),
            new ToolCallStarted(1, "call_9", "get_weather"),
            new ToolArgumentsDelta(1, "{\"city\":"),
            new ToolArgumentsDelta(1, "\"Oslo\"}"),
            new BlockStopped(1),
            new MessageFinished(StopReason.ToolUse),
            new UsageReported(new UsageReport { InputTokens = 20, CacheReadTokens = 1280, OutputTokens = 15, ReasoningTokens = 4 }),
            MessageStopped.Instance)));
        var client = CreateClient(handler);

        var text = new StringBuilder();
        var arguments = new StringBuilder();
        string? toolCallId = null, functionName = null;
        ChatFinishReason? finishReason = null;
        ChatTokenUsage? usage = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        await foreach (var update in client.CompleteChatStreamingAsync(Conversation(), Options(), timeout.Token))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            foreach (var toolCall in update.ToolCallUpdates)
            {
                toolCallId ??= toolCall.ToolCallId;
                functionName ??= toolCall.FunctionName;
                arguments.Append(toolCall.FunctionArgumentsUpdate?.ToString());
            }

            finishReason ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.True(handler.Request!.Stream);
        Assert.True(handler.Request.StreamUsage);
        Assert.Equal("Calling now.", text.ToString());
        Assert.Equal(("call_9", "get_weather", """{"city":"Oslo"}"""), (toolCallId, functionName, arguments.ToString()));
        Assert.Equal(ChatFinishReason.ToolCalls, finishReason);
        Assert.NotNull(usage);
        Assert.Equal((1300, 1280, 15, 4), (usage.InputTokenCount, usage.InputTokenDetails.CachedTokenCount, usage.OutputTokenCount, usage.OutputTokenDetails.ReasoningTokenCount));
    }

    private static List<OpenAI.Chat.ChatMessage> Conversation() =>
    [
        new SystemChatMessage("Be brief."),
        new UserChatMessage(
            ChatMessageContentPart.CreateTextPart("Weather?"),
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(Convert.FromBase64String("iVBORw0KGgo=")), "image/png")),
        new AssistantChatMessage([ChatToolCall.CreateFunctionToolCall("call_1", "get_weather", BinaryData.FromString("""{"city":"Paris"}"""))]),
        new ToolChatMessage("call_1", "18C"),
    ];

    private static ChatCompletionOptions Options()
    {
        var options = new ChatCompletionOptions
        {
            Temperature = 0.25f,
            MaxOutputTokenCount = 100,
            ToolChoice = ChatToolChoice.CreateRequiredChoice(),
            AllowParallelToolCalls = false,
        };
        options.Tools.Add(ChatTool.CreateFunctionTool(
            "get_weather",
            "Weather by city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""")));
        options.StopSequences.Add("END");
        return options;
    }

    private static ChatClient CreateClient(RelayStub handler) => new(
        "gpt-4o",
        new ApiKeyCredential("sk-test"),
        new OpenAIClientOptions
        {
            Endpoint = new Uri("http://relay.test/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(handler)),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });

    /// <summary>Reads the SDK's request with the format and answers with whatever the test builds from it.</summary>
    private sealed class RelayStub(Func<CanonicalRequest, (string ContentType, string Body)> respond) : HttpMessageHandler
    {
        public CanonicalRequest? Request { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal("/v1/chat/completions", request.RequestUri!.AbsolutePath);
            using var body = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
            var parsed = Format.ReadRequest(body.RootElement, modelFromPath: null, stream: false);
            Assert.Null(parsed.Error);
            Request = parsed.Value;

            var (contentType, responseBody) = respond(parsed.Value!);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(responseBody, Encoding.UTF8, contentType) };
        }
    }
}
