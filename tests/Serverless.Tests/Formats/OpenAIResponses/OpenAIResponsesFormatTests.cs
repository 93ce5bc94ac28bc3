#pragma warning disable OPENAI001 // The SDK's Responses types are experimental.
using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
using OpenAI.Responses;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;
using static Serverless.Tests.Formats.OpenAIResponses.ResponsesTestJson;

namespace Serverless.Tests.Formats.OpenAIResponses;

public sealed class OpenAIResponsesFormatTests
{
    [Fact]
    public void Format_IsOpenAIResponses()
    {
        Assert.Equal(WireFormat.OpenAIResponses, OpenAIResponsesFormat.Instance.Format);
    }

    [Fact]
    public void ReadRequest_BodyWrittenByOfficialSdk_MapsEveryField()
    {
        var options = new CreateResponseOptions(
            "gpt-4.1",
            [
                ResponseItem.CreateDeveloperMessageItem("Be brief."),
                ResponseItem.CreateUserMessageItem(
                [
                    ResponseContentPart.CreateInputTextPart("What is this?"),
                    ResponseContentPart.CreateInputImagePart(BinaryData.FromBytes([1, 2, 3], "image/png"), ResponseImageDetailLevel.Low),
                ]),
                ResponseItem.CreateAssistantMessageItem("Let me zoom.", []),
                ResponseItem.CreateFunctionCallItem("call_1", "zoom", BinaryData.FromString("{\"level\":2}")),
                ResponseItem.CreateFunctionCallOutputItem("call_1", "zoomed"),
            ])
        {
            Instructions = "You are a vision assistant.",
            Tools = { ResponseTool.CreateFunctionTool("zoom", BinaryData.FromString("{\"type\":\"object\"}"), strictModeEnabled: false, functionDescription: "Zooms in") },
            ToolChoice = ResponseToolChoice.CreateRequiredChoice(),
            Temperature = 0.25f,
            MaxOutputTokenCount = 300,
            StreamingEnabled = true,
            SafetyIdentifier = "user-7",
        };

        var parsed = OpenAIResponsesFormat.Instance.ReadRequest(Parse(ModelReaderWriter.Write(options).ToString()), null, false);

        var request = parsed.Value!;
        Assert.Equal("gpt-4.1", request.Model);
        Assert.Equal([new TextPart("You are a vision assistant."), new TextPart("Be brief.")], request.System);
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool], request.Messages.Select(m => m.Role));
        Assert.Equal([new TextPart("What is this?"), new ImagePart { MediaType = "image/png", Data = "AQID", Detail = "low" }], request.Messages[0].Content);
        Assert.Equal([new TextPart("Let me zoom."), new ToolCallPart("call_1", "zoom", "{\"level\":2}")], request.Messages[1].Content);
        var result = Assert.IsType<ToolResultPart>(Assert.Single(request.Messages[2].Content));
        Assert.Equal(("call_1", "zoom", new TextPart("zoomed")), (result.ToolCallId, result.ToolName, Assert.Single(result.Content)));
        Assert.Equal(new ToolDefinition("zoom", "Zooms in", request.Tools[0].Parameters) { Strict = false }, Assert.Single(request.Tools));
        Assert.Equal(new ToolChoice(ToolChoiceKind.Required), request.ToolChoice);
        Assert.Equal((0.25, 300, true, "user-7"), (request.Temperature, request.MaxOutputTokens, request.Stream, request.User));
    }

    [Fact]
    public void WriteRequest_OfficialSdk_ReadsItBack()
    {
        var request = new ChatRequest
        {
            Model = "m",
            System = [new TextPart("Be brief.")],
            Messages =
            [
                new ChatMessage(ChatRole.User, [new TextPart("Hi"), new ImagePart { Url = "https://x/cat.png" }]),
                new ChatMessage(ChatRole.Assistant, [new TextPart("Calling."), new ToolCallPart("call_1", "f", "{}")]),
                new ChatMessage(ChatRole.Tool, [new ToolResultPart("call_1", [new TextPart("ok")])]),
            ],
            Tools = [new ToolDefinition("f", "Does f", new JsonObject { ["type"] = "object" })],
            ToolChoice = new ToolChoice(ToolChoiceKind.Tool, "f"),
            MaxOutputTokens = 10,
        };

        var json = Write(writer => OpenAIResponsesFormat.Instance.WriteRequest(request, "gpt-4.1", writer));
        var options = ModelReaderWriter.Read<CreateResponseOptions>(BinaryData.FromString(json))!;

        Assert.Equal(("gpt-4.1", "Be brief.", 10, false), (options.Model, options.Instructions, options.MaxOutputTokenCount, options.StoredOutputEnabled));
        Assert.Equal(4, options.InputItems.Count);
        Assert.Equal("https://x/cat.png", Assert.IsAssignableFrom<MessageResponseItem>(options.InputItems[0]).Content[1].InputImageUri);
        var call = Assert.IsType<FunctionCallResponseItem>(options.InputItems[2]);
        Assert.Equal(("call_1", "f"), (call.CallId, call.FunctionName));
        Assert.Equal("ok", Assert.IsType<FunctionCallOutputResponseItem>(options.InputItems[3]).FunctionOutput);
        Assert.Equal("f", Assert.Single(options.Tools) is FunctionTool tool ? tool.FunctionName : null);
    }

    [Theory]
    [InlineData("InvalidRequest", 400, "{'error':{'message':'input: field required','type':'invalid_request_error','param':'input','code':null}}")]
    [InlineData("Authentication", 401, "{'error':{'message':'input: field required','type':'authentication_error','param':'input','code':'invalid_api_key'}}")]
    [InlineData("RateLimited", 429, "{'error':{'message':'input: field required','type':'rate_limit_error','param':'input','code':'rate_limit_exceeded'}}")]
    [InlineData("Upstream", 502, "{'error':{'message':'input: field required','type':'server_error','param':'input','code':null}}")]
    public void WriteError_UsesOpenAIErrorShape(string kind, int status, string expected)
    {
        var error = new RelayError(Enum.Parse<ErrorKind>(kind), "input: field required", "input");

        Assert.Equal(status, OpenAIResponsesFormat.Instance.StatusCodeOf(error));
        Assert.Equal(Compact(expected), Write(writer => OpenAIResponsesFormat.Instance.WriteError(error, writer)));
    }

    [Theory]
    [InlineData("{'error':{'message':'Invalid model.','type':'invalid_request_error'}}", "Invalid model.")]
    [InlineData("{'error':'Bad gateway'}", "Bad gateway")]
    [InlineData("{'message':'flat'}", "flat")]
    [InlineData("{'detail':'Not Found'}", null)]
    [InlineData("'text'", null)]
    public void ReadErrorMessage_KnownShapes_ReturnsMessage(string body, string? expected)
    {
        Assert.Equal(expected, OpenAIResponsesFormat.Instance.ReadErrorMessage(Parse(body)));
    }
}
