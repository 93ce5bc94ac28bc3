using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;
using static Serverless.Tests.Formats.OpenAIResponses.ResponsesTestJson;

namespace Serverless.Tests.Formats.OpenAIResponses;

public sealed class ResponsesRequestWriterTests
{
    private static string WriteRequest(ChatRequest request, string upstreamModel = "gpt-4.1") =>
        Write(writer => OpenAIResponsesFormat.Instance.WriteRequest(request, upstreamModel, writer));

    [Fact]
    public void WriteRequest_FullConversation_WritesItemsInOrder()
    {
        var request = new ChatRequest
        {
            Model = "client-model",
            System = [new TextPart("Be brief."), new TextPart("Use metric units.", new JsonObject { ["type"] = "ephemeral" })],
            Messages =
            [
                new ChatMessage(ChatRole.User, [new TextPart("Weather here?"), new ImagePart { MediaType = "image/jpeg", Data = "AAEC" }, new ImagePart { Url = "https://x/y.png", Detail = "low" }]),
                new ChatMessage(ChatRole.Assistant, [new ThinkingPart("Need a tool.", "sig"), new TextPart("Checking."), new ToolCallPart("call_a", "get_weather", "{\"city\":\"Paris\"}"), new ToolCallPart("call_b", "now", "{}")]),
                new ChatMessage(ChatRole.Tool, [new ToolResultPart("call_a", [new TextPart("18C"), new TextPart("sunny")]), new ToolResultPart("call_b", [new TextPart("noon"), new ImagePart { Url = "https://x/clock.png" }])]),
            ],
            Tools = [new ToolDefinition("get_weather", "Current weather", new JsonObject { ["type"] = "object" }), new ToolDefinition("now", null, new JsonObject())],
            ToolChoice = new ToolChoice(ToolChoiceKind.Required),
            ParallelToolCalls = true,
            Temperature = 0.5,
            TopP = 1,
            MaxOutputTokens = 100,
            Stream = true,
            User = "user-1",
        };

        var json = WriteRequest(request);

        Assert.Equal(Compact("""
            {'model':'gpt-4.1','instructions':'Be brief.\n\nUse metric units.','input':[
              {'type':'message','role':'user','content':[
                {'type':'input_text','text':'Weather here?'},
                {'type':'input_image','image_url':'data:image/jpeg;base64,AAEC','detail':'auto'},
                {'type':'input_image','image_url':'https://x/y.png','detail':'low'}]},
              {'type':'message','role':'assistant','content':[{'type':'output_text','text':'Checking.'}]},
              {'type':'function_call','call_id':'call_a','name':'get_weather','arguments':'{\u0022city\u0022:\u0022Paris\u0022}'},
              {'type':'function_call','call_id':'call_b','name':'now','arguments':'{}'},
              {'type':'function_call_output','call_id':'call_a','output':'18C\nsunny'},
              {'type':'function_call_output','call_id':'call_b','output':[{'type':'input_text','text':'noon'},{'type':'input_image','image_url':'https://x/clock.png','detail':'auto'}]}],
             'tools':[
               {'type':'function','name':'get_weather','description':'Current weather','parameters':{'type':'object'},'strict':false},
               {'type':'function','name':'now','parameters':{},'strict':false}],
             'tool_choice':'required','parallel_tool_calls':true,'temperature':0.5,'top_p':1,'max_output_tokens':100,'stream':true,'user':'user-1','store':false}
            """), json);
    }

    /// <summary>OpenAI's reasoning models refuse a temperature or top_p other than their defaults: left out for them.</summary>
    [Theory]
    [InlineData("gpt-5", false)]
    [InlineData("o3-mini", false)]
    [InlineData("gpt-5-chat-latest", true)]
    [InlineData("gpt-4.1", true)]
    public void WriteRequest_ReasoningModel_LeavesOutSamplingSettings(string upstreamModel, bool written)
    {
        var request = new ChatRequest { Model = "m", Messages = [new ChatMessage(ChatRole.User, [new TextPart("Hi")])], Temperature = 0, TopP = 1 };

        var json = WriteRequest(request, upstreamModel);

        Assert.Equal(written, json.Contains("\"temperature\":0,", StringComparison.Ordinal));
        Assert.Equal(written, json.Contains("\"top_p\":1,", StringComparison.Ordinal));
    }

    /// <summary>
    /// OpenAI refuses more output tokens than a model's maximum, and Claude Code asks for 32,000 or 64,000: a known
    /// model gets its maximum, a smaller request and an unknown name keep the client's value.
    /// </summary>
    [Theory]
    [InlineData("gpt-4o", 32000, 16384)]
    [InlineData("gpt-4.1-mini", 64000, 32768)]
    [InlineData("o4-mini", 128000, 100000)]
    [InlineData("gpt-5", 200000, 128000)]
    [InlineData("gpt-4o", 1000, 1000)]
    [InlineData("my-deployment", 64000, 64000)]
    public void WriteRequest_MaxOutputTokensAboveModelMaximum_Capped(string upstreamModel, int requested, int written)
    {
        var request = new ChatRequest { Model = "m", Messages = [new ChatMessage(ChatRole.User, [new TextPart("Hi")])], MaxOutputTokens = requested };

        var json = WriteRequest(request, upstreamModel);

        Assert.Contains($"\"max_output_tokens\":{written},", json, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequest_MinimalRequest_OmitsUnsetFields()
    {
        var request = new ChatRequest { Model = "m", Messages = [new ChatMessage(ChatRole.User, [new TextPart("Hi")])] };

        Assert.Equal(
            Compact("{'model':'gpt-4.1','input':[{'type':'message','role':'user','content':[{'type':'input_text','text':'Hi'}]}],'store':false}"),
            WriteRequest(request));
    }

    [Theory]
    [InlineData(nameof(ToolChoiceKind.Auto), null, "'auto'")]
    [InlineData(nameof(ToolChoiceKind.None), null, "'none'")]
    [InlineData(nameof(ToolChoiceKind.Required), null, "'required'")]
    [InlineData(nameof(ToolChoiceKind.Tool), "f", "{'type':'function','name':'f'}")]
    public void WriteRequest_ToolChoice_WritesResponsesShape(string kind, string? name, string expected)
    {
        var request = new ChatRequest { Model = "m", Messages = [], ToolChoice = new ToolChoice(Enum.Parse<ToolChoiceKind>(kind), name) };

        Assert.Equal(Compact($"{{'model':'gpt-4.1','input':[],'tool_choice':{expected},'store':false}}"), WriteRequest(request));
    }

    [Fact]
    public void WriteRequest_TextAfterToolCall_StartsNewMessageItem()
    {
        var request = new ChatRequest
        {
            Model = "m",
            Messages = [new ChatMessage(ChatRole.Assistant, [new TextPart("a"), new ToolCallPart("c", "f", "{}"), new TextPart("b")])],
        };

        Assert.Equal(Compact("""
            {'model':'gpt-4.1','input':[
              {'type':'message','role':'assistant','content':[{'type':'output_text','text':'a'}]},
              {'type':'function_call','call_id':'c','name':'f','arguments':'{}'},
              {'type':'message','role':'assistant','content':[{'type':'output_text','text':'b'}]}],'store':false}
            """), WriteRequest(request));
    }

    [Fact]
    public void WriteRequest_ThenReadRequest_RoundTrips()
    {
        var original = new ChatRequest
        {
            Model = "gpt-4.1",
            System = [new TextPart("Be brief.")],
            Messages =
            [
                new ChatMessage(ChatRole.User, [new TextPart("Look"), new ImagePart { MediaType = "image/png", Data = "iVBO", Detail = "high" }]),
                new ChatMessage(ChatRole.Assistant, [new TextPart("Calling."), new ToolCallPart("call_1", "zoom", "{\"level\":2}")]),
                new ChatMessage(ChatRole.Tool, [new ToolResultPart("call_1", [new TextPart("done")], ToolName: "zoom")]),
                new ChatMessage(ChatRole.Assistant, [new TextPart("Zoomed.")]),
            ],
            Tools = [new ToolDefinition("zoom", "Zooms", new JsonObject { ["type"] = "object" })],
            ToolChoice = new ToolChoice(ToolChoiceKind.Tool, "zoom"),
            ParallelToolCalls = false,
            Temperature = 0.3,
            TopP = 0.8,
            MaxOutputTokens = 64,
            Stream = true,
            User = "u",
        };

        var parsed = OpenAIResponsesFormat.Instance.ReadRequest(Parse(WriteRequest(original, "gpt-4.1")), null, false);

        var read = parsed.Value!;
        Assert.Equal(original.Model, read.Model);
        Assert.Equal(original.System, read.System);
        Assert.Equal(original.Messages.Count, read.Messages.Count);
        for (var i = 0; i < original.Messages.Count; i++)
        {
            Assert.Equal(original.Messages[i].Role, read.Messages[i].Role);
            if (original.Messages[i].Role != ChatRole.Tool)
            {
                Assert.Equal(original.Messages[i].Content, read.Messages[i].Content);
            }
        }

        var result = Assert.IsType<ToolResultPart>(Assert.Single(read.Messages[2].Content));
        Assert.Equal(("call_1", "zoom"), (result.ToolCallId, result.ToolName));
        Assert.Equal(new TextPart("done"), Assert.Single(result.Content));
        Assert.Equal("zoom", Assert.Single(read.Tools).Name);
        Assert.Equal(original.ToolChoice, read.ToolChoice);
        Assert.Equal((false, 0.3, 0.8, 64, true, "u"), (read.ParallelToolCalls, read.Temperature, read.TopP, read.MaxOutputTokens, read.Stream, read.User));
    }
}
