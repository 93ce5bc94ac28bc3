using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;
using static Serverless.Tests.Formats.OpenAIResponses.ResponsesTestJson;

namespace Serverless.Tests.Formats.OpenAIResponses;

public sealed class ResponsesRequestReaderTests
{
    private static ChatRequest ReadOk(string json)
    {
        var parsed = OpenAIResponsesFormat.Instance.ReadRequest(Parse(json), modelFromPath: null, stream: false);
        Assert.Null(parsed.Error);
        return parsed.Value!;
    }

    private static RelayError ReadError(string json)
    {
        var parsed = OpenAIResponsesFormat.Instance.ReadRequest(Parse(json), modelFromPath: null, stream: false);
        Assert.NotNull(parsed.Error);
        return parsed.Error!;
    }

    [Fact]
    public void ReadRequest_StringInput_IsOneUserMessage()
    {
        var request = ReadOk("{'model':'gpt-4.1','input':'Hello'}");

        Assert.Equal("gpt-4.1", request.Model);
        var message = Assert.Single(request.Messages);
        Assert.Equal(ChatRole.User, message.Role);
        Assert.Equal(new TextPart("Hello"), Assert.Single(message.Content));
        Assert.Empty(request.System);
        Assert.False(request.Stream);
    }

    [Fact]
    public void ReadRequest_InstructionsAndSystemMessages_GoToSystemInstructionsFirst()
    {
        var request = ReadOk("""
            {'model':'m','instructions':'Be brief.','input':[
              {'role':'developer','content':'Use metric units.'},
              {'type':'message','role':'system','content':[{'type':'input_text','text':'No emojis.'}]},
              {'role':'user','content':'Hi'}]}
            """);

        Assert.Equal([new TextPart("Be brief."), new TextPart("Use metric units."), new TextPart("No emojis.")], request.System);
        Assert.Equal(ChatRole.User, Assert.Single(request.Messages).Role);
    }

    [Fact]
    public void ReadRequest_MultiTurn_KeepsRolesAndOrder()
    {
        var request = ReadOk("""
            {'model':'m','input':[
              {'role':'user','content':'What is 2+2?'},
              {'type':'message','role':'assistant','content':[{'type':'output_text','text':'4','annotations':[]}]},
              {'role':'user','content':[{'type':'input_text','text':'And 3+3?'}]}]}
            """);

        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.User], request.Messages.Select(m => m.Role));
        Assert.Equal(new TextPart("4"), Assert.Single(request.Messages[1].Content));
        Assert.Equal(new TextPart("And 3+3?"), Assert.Single(request.Messages[2].Content));
    }

    [Theory]
    [InlineData("https://example.com/cat.png", "high", "https://example.com/cat.png", null, null)]
    [InlineData("data:image/jpeg;base64,AAEC", null, null, "image/jpeg", "AAEC")]
    public void ReadRequest_InputImage_MapsUrlOrInlineData(string imageUrl, string? detail, string? url, string? mediaType, string? data)
    {
        var detailJson = detail is null ? string.Empty : $",'detail':'{detail}'";
        var request = ReadOk($"{{'model':'m','input':[{{'role':'user','content':[{{'type':'input_text','text':'What is this?'}},{{'type':'input_image','image_url':'{imageUrl}'{detailJson}}}]}}]}}");

        var content = Assert.Single(request.Messages).Content;
        Assert.Equal(new TextPart("What is this?"), content[0]);
        Assert.Equal(new ImagePart { Url = url, MediaType = mediaType, Data = data, Detail = detail }, content[1]);
    }

    [Fact]
    public void ReadRequest_FunctionCallsAndOutputs_MergeIntoAssistantAndToolMessages()
    {
        var request = ReadOk("""
            {'model':'m','input':[
              {'role':'user','content':'Weather in Paris and Rome?'},
              {'type':'reasoning','id':'rs_1','summary':[]},
              {'type':'message','role':'assistant','content':[{'type':'output_text','text':'Checking.'}]},
              {'type':'function_call','id':'fc_1','call_id':'call_a','name':'get_weather','arguments':'{\u0022city\u0022:\u0022Paris\u0022}'},
              {'type':'function_call','call_id':'call_b','name':'get_weather','arguments':'{}'},
              {'type':'function_call_output','call_id':'call_a','output':'18C'},
              {'type':'function_call_output','call_id':'call_b','output':[{'type':'input_text','text':'21C'}]},
              {'role':'assistant','content':'Paris 18C, Rome 21C.'}]}
            """);

        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant], request.Messages.Select(m => m.Role));
        Assert.Equal(
            [new TextPart("Checking."), new ToolCallPart("call_a", "get_weather", "{\"city\":\"Paris\"}"), new ToolCallPart("call_b", "get_weather", "{}")],
            request.Messages[1].Content);
        var results = request.Messages[2].Content.Cast<ToolResultPart>().ToList();
        Assert.Equal(["call_a", "call_b"], results.Select(r => r.ToolCallId));
        Assert.Equal(["get_weather", "get_weather"], results.Select(r => r.ToolName));
        Assert.Equal(new TextPart("18C"), Assert.Single(results[0].Content));
        Assert.Equal(new TextPart("21C"), Assert.Single(results[1].Content));
        Assert.Equal(new TextPart("Paris 18C, Rome 21C."), Assert.Single(request.Messages[3].Content));
    }

    [Fact]
    public void ReadRequest_FunctionCallWithoutPrecedingAssistant_StartsAssistantMessage()
    {
        var request = ReadOk("{'model':'m','input':[{'role':'user','content':'Hi'},{'type':'function_call','call_id':'c1','name':'f','arguments':'{}'}]}");

        Assert.Equal(ChatRole.Assistant, request.Messages[1].Role);
        Assert.Equal(new ToolCallPart("c1", "f", "{}"), Assert.Single(request.Messages[1].Content));
    }

    [Fact]
    public void ReadRequest_ToolsAndSettings_AreMapped()
    {
        var request = ReadOk("""
            {'model':'m','input':'Hi','stream':true,'temperature':0.2,'top_p':0.9,'max_output_tokens':256,'parallel_tool_calls':false,
             'tool_choice':{'type':'function','name':'get_weather'},
             'tools':[
               {'type':'function','name':'get_weather','description':'Current weather','parameters':{'type':'object','properties':{'city':{'type':'string'}}},'strict':true},
               {'type':'web_search_preview'},
               {'type':'function','name':'now'}]}
            """);

        Assert.True(request.Stream);
        Assert.Equal(0.2, request.Temperature);
        Assert.Equal(0.9, request.TopP);
        Assert.Equal(256, request.MaxOutputTokens);
        Assert.False(request.ParallelToolCalls);
        Assert.Equal(new ToolChoice(ToolChoiceKind.Tool, "get_weather"), request.ToolChoice);
        Assert.Equal(["get_weather", "now"], request.Tools.Select(t => t.Name));
        Assert.Equal("Current weather", request.Tools[0].Description);
        Assert.Equal("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}", request.Tools[0].Parameters.ToJsonString());
        Assert.Equal("{\"type\":\"object\",\"properties\":{}}", request.Tools[1].Parameters.ToJsonString());
    }

    [Theory]
    [InlineData("'auto'", nameof(ToolChoiceKind.Auto))]
    [InlineData("'none'", nameof(ToolChoiceKind.None))]
    [InlineData("'required'", nameof(ToolChoiceKind.Required))]
    public void ReadRequest_ToolChoiceString_MapsKind(string choice, string kind)
    {
        var request = ReadOk($"{{'model':'m','input':'Hi','tool_choice':{choice}}}");

        Assert.Equal(new ToolChoice(Enum.Parse<ToolChoiceKind>(kind)), request.ToolChoice);
    }

    [Theory]
    [InlineData("required", nameof(ToolChoiceKind.Required))]
    [InlineData("auto", nameof(ToolChoiceKind.Auto))]
    public void ReadRequest_AllowedToolsChoice_OffersOnlyTheListedFunctions(string mode, string kind)
    {
        var request = ReadOk("""
            {'model':'m','input':'Hi',
             'tools':[{'type':'function','name':'a'},{'type':'function','name':'b'},{'type':'function','name':'c'}],
             'tool_choice':{'type':'allowed_tools','mode':'MODE','tools':[{'type':'function','name':'b'},{'type':'mcp','server_label':'x'},{'type':'function','name':'c'}]}}
            """.Replace("MODE", mode, StringComparison.Ordinal));

        Assert.Equal(new ToolChoice(Enum.Parse<ToolChoiceKind>(kind)), request.ToolChoice);
        Assert.Equal(["b", "c"], request.Tools.Select(t => t.Name));
    }

    /// <summary>
    /// A choice forcing a built-in tool, which a translation drops: read (an OpenAI account in the pool serves it as
    /// sent), but a translation refuses it naming the tool rather than let the model answer as if it had searched.
    /// </summary>
    [Fact]
    public void ReadRequest_BuiltInToolChoice_UnsetAndUntranslatable()
    {
        var request = ReadOk("{'model':'m','input':'Hi','tool_choice':{'type':'web_search_preview'}}");

        Assert.Null(request.ToolChoice);
        Assert.Equal("tool_choice", request.Untranslatable?.Param);
        Assert.StartsWith("tool_choice.type: web_search_preview is OpenAI's built-in tool", request.Untranslatable!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("'user':'u1','safety_identifier':'s1','prompt_cache_key':'k1'", "u1")]
    [InlineData("'safety_identifier':'s1','prompt_cache_key':'k1'", "s1")]
    [InlineData("'prompt_cache_key':'k1'", "k1")]
    [InlineData("'user':null", null)]
    public void ReadRequest_UserIdentifiers_FirstPresentWins(string fields, string? user)
    {
        var request = ReadOk($"{{'model':'m','input':'Hi',{fields}}}");

        Assert.Equal(user, request.User);
    }

    [Fact]
    public void ReadRequest_ParametersObject_SurvivesTheRequestDocument()
    {
        var body = System.Text.Json.JsonDocument.Parse("""{"model":"m","input":"Hi","tools":[{"type":"function","name":"f","parameters":{"type":"object"}}]}""");
        var parsed = OpenAIResponsesFormat.Instance.ReadRequest(body.RootElement, null, false);
        body.Dispose();

        Assert.Equal("{\"type\":\"object\"}", parsed.Value!.Tools[0].Parameters.ToJsonString());
    }

    [Theory]
    [InlineData("[]", "body: must be a JSON object", null)]
    [InlineData("{'input':'Hi'}", "model: field required", "model")]
    [InlineData("{'model':'','input':'Hi'}", "model: must be a non-empty string", "model")]
    [InlineData("{'model':5,'input':'Hi'}", "model: must be a non-empty string", "model")]
    [InlineData("{'model':'m'}", "input: field required", "input")]
    [InlineData("{'model':'m','input':null}", "input: field required", "input")]
    [InlineData("{'model':'m','input':5}", "input: must be a string or an array", "input")]
    [InlineData("{'model':'m','conversation':5}", "conversation: must be a string or an object", "conversation")]
    [InlineData("{'model':'m','conversation':{}}", "conversation.id: field required", "conversation")]
    [InlineData("{'model':'m','prompt':'pmpt_1'}", "prompt: must be an object", "prompt")]
    [InlineData("{'model':'m','prompt':{'version':'2'}}", "prompt.id: field required", "prompt")]
    [InlineData("{'model':'m','prompt':{'id':7}}", "prompt.id: must be a string", "prompt")]
    [InlineData("{'model':'m','input':['Hi']}", "input[0]: must be an object", "input")]
    [InlineData("{'model':'m','input':[{'content':'Hi'}]}", "input[0].role: field required", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':'Hi'},{'role':'tool','content':'x'}]}", "input[1].role: must be one of user, assistant, system, developer", "input")]
    [InlineData("{'model':'m','input':[{'role':'user'}]}", "input[0].content: field required", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':{}}]}", "input[0].content: must be a string or an array", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':[{'text':'Hi'}]}]}", "input[0].content[0].type: field required", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':[{'type':'input_audio','input_audio':{}}]}]}", "input[0].content[0].type: must be one of input_text, output_text, refusal, input_image, input_file", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':[{'type':'input_file','file_id':'file-abc'}]}]}", "input[0].content[0].file_id: a file stored with OpenAI can only be read by OpenAI, and this model is served by translating the request for another provider; send the file inline as file_data instead", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':[{'type':'input_file','filename':'a.pdf'}]}]}", "input[0].content[0]: one of file_data, file_url or file_id is required", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':[{'type':'input_file','file_data':5}]}]}", "input[0].content[0].file_data: must be a string", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':[{'type':'input_text'}]}]}", "input[0].content[0].text: field required", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':[{'type':'input_text','text':1}]}]}", "input[0].content[0].text: must be a string", "input")]
    [InlineData("{'model':'m','input':[{'role':'user','content':[{'type':'input_image','file_id':'f'}]}]}", "input[0].content[0].image_url: field required", "input")]
    [InlineData("{'model':'m','input':[{'type':'function_call','name':'f','arguments':'{}'}]}", "input[0].call_id: field required", "input")]
    [InlineData("{'model':'m','input':[{'type':'function_call','call_id':'c','arguments':'{}'}]}", "input[0].name: field required", "input")]
    [InlineData("{'model':'m','input':[{'type':'function_call','call_id':'c','name':'f','arguments':{}}]}", "input[0].arguments: must be a string", "input")]
    [InlineData("{'model':'m','input':[{'type':'function_call_output','call_id':'c'}]}", "input[0].output: field required", "input")]
    [InlineData("{'model':'m','input':[{'type':'function_call_output','call_id':'c','output':5}]}", "input[0].output: must be a string or an array", "input")]
    [InlineData("{'model':'m','input':'Hi','instructions':5}", "instructions: must be a string", "instructions")]
    [InlineData("{'model':'m','input':'Hi','tools':{}}", "tools: must be an array", "tools")]
    [InlineData("{'model':'m','input':'Hi','tools':[{'name':'f'}]}", "tools[0].type: field required", "tools")]
    [InlineData("{'model':'m','input':'Hi','tools':[{'type':'function'}]}", "tools[0].name: field required", "tools")]
    [InlineData("{'model':'m','input':'Hi','tools':[{'type':'function','name':'f','parameters':'x'}]}", "tools[0].parameters: must be an object", "tools")]
    [InlineData("{'model':'m','input':'Hi','tool_choice':'any'}", "tool_choice: must be one of auto, none, required, or {\"type\":\"function\",\"name\":...}", "tool_choice")]
    [InlineData("{'model':'m','input':'Hi','tool_choice':{'type':'function'}}", "tool_choice.name: field required", "tool_choice")]
    [InlineData("{'model':'m','input':'Hi','tools':[{'type':'function','name':'f','strict':'yes'}]}", "tools[0].strict: must be a boolean", "tools")]
    [InlineData("{'model':'m','input':'Hi','tool_choice':{'type':'allowed_tools','mode':'any','tools':[]}}", "tool_choice.mode: must be one of auto, required", "tool_choice")]
    [InlineData("{'model':'m','input':'Hi','tool_choice':{'type':'allowed_tools','mode':'auto'}}", "tool_choice.tools: must be an array", "tool_choice")]
    [InlineData("{'model':'m','input':'Hi','tool_choice':{'type':'allowed_tools','mode':'auto','tools':['f']}}", "tool_choice.tools[0]: must be an object", "tool_choice")]
    [InlineData("{'model':'m','input':'Hi','tool_choice':{'type':'allowed_tools','mode':'auto','tools':[{'type':'function'}]}}", "tool_choice.tools[0].name: field required", "tool_choice")]
    [InlineData("{'model':'m','input':'Hi','temperature':'hot'}", "temperature: must be a number", "temperature")]
    [InlineData("{'model':'m','input':'Hi','top_p':true}", "top_p: must be a number", "top_p")]
    [InlineData("{'model':'m','input':'Hi','max_output_tokens':0}", "max_output_tokens: must be a positive integer", "max_output_tokens")]
    [InlineData("{'model':'m','input':'Hi','max_output_tokens':1.5}", "max_output_tokens: must be a positive integer", "max_output_tokens")]
    [InlineData("{'model':'m','input':'Hi','stream':'yes'}", "stream: must be a boolean", "stream")]
    [InlineData("{'model':'m','input':'Hi','parallel_tool_calls':1}", "parallel_tool_calls: must be a boolean", "parallel_tool_calls")]
    [InlineData("{'model':'m','input':'Hi','user':5}", "user: must be a string", "user")]
    public void ReadRequest_InvalidBody_ReturnsExactError(string json, string message, string? param)
    {
        var error = ReadError(json);

        Assert.Equal(ErrorKind.InvalidRequest, error.Kind);
        Assert.Equal(message, error.Message);
        Assert.Equal(param, error.Param);
    }

    /// <summary>Where the upstream's store holds what the model reads, input is optional: the canonical request has no messages of its own.</summary>
    [Theory]
    [InlineData("{'model':'m','previous_response_id':'resp_1'}")]
    [InlineData("{'model':'m','conversation':'conv_1'}")]
    [InlineData("{'model':'m','conversation':{'id':'conv_1'},'input':null}")]
    [InlineData("{'model':'m','prompt':{'id':'pmpt_1','version':'2','variables':{'city':'Paris'}}}")]
    public void ReadRequest_StoredStateWithoutInput_ReadsWithoutMessages(string json)
    {
        var request = ReadOk(json);

        Assert.Empty(request.Messages);
    }

    [Fact]
    public void ReadRequest_UnknownItemTypes_AreDropped()
    {
        var request = ReadOk("{'model':'m','input':[{'type':'item_reference','id':'msg_1'},{'type':'web_search_call','id':'ws_1'},{'role':'user','content':'Hi'}]}");

        Assert.Equal(ChatRole.User, Assert.Single(request.Messages).Role);
    }

    [Fact]
    public void ReadRequest_AssistantRefusal_IsText()
    {
        var request = ReadOk("{'model':'m','input':[{'role':'assistant','content':[{'type':'refusal','refusal':'I cannot help.'}]}]}");

        Assert.Equal(new TextPart("I cannot help."), Assert.Single(Assert.Single(request.Messages).Content));
    }

    [Fact]
    public void ReadRequest_ToolOutputWithImage_KeepsImage()
    {
        var request = ReadOk("{'model':'m','input':[{'type':'function_call_output','call_id':'c','output':[{'type':'input_image','image_url':'data:image/png;base64,iVBO'}]}]}");

        var result = Assert.IsType<ToolResultPart>(Assert.Single(Assert.Single(request.Messages).Content));
        Assert.Null(result.ToolName);
        Assert.Equal(new ImagePart { MediaType = "image/png", Data = "iVBO" }, Assert.Single(result.Content));
    }

    [Fact]
    public void ReadRequest_ToolWithoutParameters_GetsEmptyObjectSchema()
    {
        var request = ReadOk("{'model':'m','input':'Hi','tools':[{'type':'function','name':'ping','parameters':null}]}");

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"type\":\"object\",\"properties\":{}}"), request.Tools[0].Parameters));
    }
}
