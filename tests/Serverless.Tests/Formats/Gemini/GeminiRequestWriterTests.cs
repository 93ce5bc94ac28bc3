using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using static Serverless.Tests.Formats.Gemini.GeminiTestJson;
using Xunit;

namespace Serverless.Tests.Formats.Gemini;

public sealed class GeminiRequestWriterTests
{
    private static ChatRequest Request(params ChatMessage[] messages) => new() { Model = "client-model", Messages = messages };

    private static ChatMessage User(params ContentPart[] parts) => new(ChatRole.User, parts);

    [Fact]
    public void WriteRequest_SystemAndMultiTurn_WritesContentsWithoutModel()
    {
        var request = Request(
            User(new TextPart("Hello")),
            new ChatMessage(ChatRole.Assistant, [new TextPart("Hi!")]),
            User(new TextPart("Joke?"))) with
        {
            System = [new TextPart("Be brief."), new TextPart("Be kind.")],
            Stream = true,
            User = "user-1",
        };

        Assert.Equal(
            Q("{'contents':[{'role':'user','parts':[{'text':'Hello'}]},{'role':'model','parts':[{'text':'Hi!'}]},{'role':'user','parts':[{'text':'Joke?'}]}],'systemInstruction':{'parts':[{'text':'Be brief.'},{'text':'Be kind.'}]}}"),
            WriteRequest(request));
    }

    [Fact]
    public void WriteRequest_GenerationConfig_OnlyFieldsSet()
    {
        var request = Request(User(new TextPart("a"))) with { Temperature = 0.5, MaxOutputTokens = 100, StopSequences = ["END"] };

        Assert.Equal(
            Q("{'contents':[{'role':'user','parts':[{'text':'a'}]}],'generationConfig':{'temperature':0.5,'maxOutputTokens':100,'stopSequences':['END']}}"),
            WriteRequest(request));
    }

    [Fact]
    public void WriteRequest_TopPOnly_WritesTopP()
    {
        var request = Request(User(new TextPart("a"))) with { TopP = 0.9 };

        Assert.Contains(Q("'generationConfig':{'topP':0.9}"), WriteRequest(request), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "image/png", "iVBORw0KGgo=", "{'inlineData':{'mimeType':'image/png','data':'iVBORw0KGgo='}}")]
    [InlineData("data:image/webp;base64,UklGRg==", null, null, "{'inlineData':{'mimeType':'image/webp','data':'UklGRg=='}}")]
    [InlineData("https://example.com/cat.png?size=large", null, null, "{'fileData':{'mimeType':'image/png','fileUri':'https://example.com/cat.png?size=large'}}")]
    [InlineData("https://example.com/photo", null, null, "{'fileData':{'mimeType':'image/jpeg','fileUri':'https://example.com/photo'}}")]
    [InlineData("gs://bucket/a.gif", null, null, "{'fileData':{'mimeType':'image/gif','fileUri':'gs://bucket/a.gif'}}")]
    public void WriteRequest_Images_BecomeInlineOrFileData(string? url, string? mediaType, string? data, string expectedPart)
    {
        var request = Request(User(new ImagePart { Url = url, MediaType = mediaType, Data = data, Detail = "high" }));

        Assert.Equal(Q("{'contents':[{'role':'user','parts':[" + expectedPart + "]}]}"), WriteRequest(request));
    }

    [Fact]
    public void WriteRequest_ToolCallsAndResults_WriteFunctionCallAndResponse()
    {
        var request = Request(
            User(new TextPart("Weather?")),
            new ChatMessage(ChatRole.Assistant, [new TextPart("Checking."), new ToolCallPart("toolu_1", "get_weather", """{"city":"Paris"}"""), new ToolCallPart("toolu_2", "get_time", "")]),
            new ChatMessage(ChatRole.Tool,
            [
                new ToolResultPart("toolu_1", [new TextPart("""{"temp":21}""")]),
                new ToolResultPart("toolu_2", [new TextPart("12:00")], ToolName: "get_time"),
            ]));

        Assert.Equal(
            Q("{'contents':[" +
              "{'role':'user','parts':[{'text':'Weather?'}]}," +
              "{'role':'model','parts':[{'text':'Checking.'},{'functionCall':{'name':'get_weather','args':{'city':'Paris'}},'thoughtSignature':'skip_thought_signature_validator'},{'functionCall':{'name':'get_time','args':{}}}]}," +
              "{'role':'user','parts':[{'functionResponse':{'name':'get_weather','response':{'temp':21}}},{'functionResponse':{'name':'get_time','response':{'result':'12:00'}}}]}]}"),
            WriteRequest(request));
    }

    [Theory]
    [InlineData("plain text", false, "{'result':'plain text'}")]
    [InlineData("[1,2]", false, "{'result':'[1,2]'}")]
    [InlineData("{not json", false, "{'result':'{not json'}")]
    [InlineData("  {\"a\":1}", false, "{'a':1}")]
    [InlineData("it broke", true, "{'error':'it broke'}")]
    public void WriteRequest_ToolResultText_BecomesResponseObject(string text, bool isError, string expectedResponse)
    {
        var request = Request(new ChatMessage(ChatRole.Tool, [new ToolResultPart("c1", [new TextPart(text)], isError, "f")]));

        Assert.Equal(
            Q("{'contents':[{'role':'user','parts':[{'functionResponse':{'name':'f','response':" + expectedResponse + "}}]}]}"),
            WriteRequest(request));
    }

    [Fact]
    public void WriteRequest_ToolResultWithImage_AddsImagePartAfterResponse()
    {
        var request = Request(new ChatMessage(ChatRole.Tool,
            [new ToolResultPart("c1", [new TextPart("see image"), new ImagePart { MediaType = "image/png", Data = "AAAA" }], ToolName: "shot")]));

        Assert.Equal(
            Q("{'contents':[{'role':'user','parts':[{'functionResponse':{'name':'shot','response':{'result':'see image'}}},{'inlineData':{'mimeType':'image/png','data':'AAAA'}}]}]}"),
            WriteRequest(request));
    }

    [Fact]
    public void WriteRequest_InvalidArgumentsJson_WritesEmptyArgs()
    {
        var request = Request(new ChatMessage(ChatRole.Assistant, [new ToolCallPart("c1", "f", "{broken")]));

        Assert.Equal(Q("{'contents':[{'role':'model','parts':[{'functionCall':{'name':'f','args':{}},'thoughtSignature':'skip_thought_signature_validator'}]}]}"), WriteRequest(request));
    }

    [Fact]
    public void WriteRequest_EmptyTextAndEmptyMessages_AreSkipped()
    {
        var request = Request(
            User(new TextPart("a")),
            new ChatMessage(ChatRole.Assistant, [new TextPart(string.Empty)]),
            User(new TextPart("b"), new TextPart(string.Empty)));

        Assert.Equal(Q("{'contents':[{'role':'user','parts':[{'text':'a'}]},{'role':'user','parts':[{'text':'b'}]}]}"), WriteRequest(request));
    }

    [Fact]
    public void WriteRequest_ThinkingAndSignatures_GoBackOnTheirParts()
    {
        var request = Request(new ChatMessage(ChatRole.Assistant,
        [
            new ThinkingPart("pondering", "c2lnMQ=="),
            new ThinkingPart(string.Empty, "c2lnMg=="),
            new ToolCallPart("c1", "f", "{}"),
            new ToolCallPart("c2", "g", "{}"),
        ]));

        Assert.Equal(
            Q("{'contents':[{'role':'model','parts':[{'text':'pondering','thought':true,'thoughtSignature':'c2lnMQ=='},{'functionCall':{'name':'f','args':{}},'thoughtSignature':'c2lnMg=='},{'functionCall':{'name':'g','args':{}}}]}]}"),
            WriteRequest(request, "gemini-3-pro-preview"));
    }

    [Theory]
    [InlineData("gemini-3-pro-preview")]
    [InlineData("models/gemini-3.1-flash")]
    [InlineData("gemini-flash-latest")]
    [InlineData("gemini-pro-latest")]
    [InlineData("gemini-4-pro")]
    [InlineData("gemini-2.5-flash")]
    public void WriteRequest_UnsignedCall_GetsSkipValidatorSentinelOnEveryModel(string model)
    {
        // The aliases are Gemini 3 models, which refuse an unsigned call; Gemini 2.x accepts the placeholder.
        var request = Request(new ChatMessage(ChatRole.Assistant, [new ToolCallPart("c1", "f", "{}"), new ToolCallPart("c2", "g", "{}")]));

        Assert.Equal(
            Q("{'contents':[{'role':'model','parts':[{'functionCall':{'name':'f','args':{}},'thoughtSignature':'skip_thought_signature_validator'},{'functionCall':{'name':'g','args':{}}}]}]}"),
            WriteRequest(request, model));
    }

    [Fact]
    public void WriteRequest_Tools_WriteDeclarationsWithGeminiSchema()
    {
        var request = Request(User(new TextPart("a"))) with
        {
            Tools =
            [
                new ToolDefinition("get_weather", "Weather by city", JsonNode.Parse("""
                    {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,"strict":true,
                     "properties":{"city":{"type":"string","description":"City"},"days":{"type":["integer","null"],"exclusiveMinimum":0}},
                     "required":["city","ghost"]}
                    """)!.AsObject()),
                new ToolDefinition("ping", null, JsonNode.Parse("""{"type":"object","properties":{}}""")!.AsObject()),
            ],
            ToolChoice = new ToolChoice(ToolChoiceKind.Tool, "get_weather"),
        };

        Assert.Equal(
            Q("{'contents':[{'role':'user','parts':[{'text':'a'}]}]," +
              "'tools':[{'functionDeclarations':[" +
              "{'name':'get_weather','description':'Weather by city','parameters':{'type':'OBJECT','properties':{'city':{'type':'STRING','description':'City'},'days':{'type':'INTEGER','nullable':true}},'required':['city']}}," +
              "{'name':'ping'}]}]," +
              "'toolConfig':{'functionCallingConfig':{'mode':'ANY','allowedFunctionNames':['get_weather']}}}"),
            WriteRequest(request));
    }

    [Theory]
    [InlineData(nameof(ToolChoiceKind.Auto), "AUTO")]
    [InlineData(nameof(ToolChoiceKind.None), "NONE")]
    [InlineData(nameof(ToolChoiceKind.Required), "ANY")]
    public void WriteRequest_ToolChoice_MapsToMode(string kindName, string mode)
    {
        var kind = Enum.Parse<ToolChoiceKind>(kindName);
        var request = Request(User(new TextPart("a"))) with { ToolChoice = new ToolChoice(kind) };

        Assert.EndsWith(Q("'toolConfig':{'functionCallingConfig':{'mode':'" + mode + "'}}}"), WriteRequest(request), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadThenWrite_GeminiRequest_RoundTrips()
    {
        const string body = """
            {"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"},{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]},{"role":"model","parts":[{"text":"Let me check.","thought":true,"thoughtSignature":"c2ln"},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2lnMg=="}]},{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"temp":21}}}]},{"role":"user","parts":[{"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.com/a.jpg"}}]}],"systemInstruction":{"parts":[{"text":"Be brief."}]},"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}},"required":["city"]}}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}},"generationConfig":{"temperature":0.3,"topP":0.8,"maxOutputTokens":512,"stopSequences":["END"]}}
            """;

        var request = ReadRequest(body);

        Assert.Equal(body.Trim(), WriteRequest(request));
    }
}
