using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using static Serverless.Tests.Formats.Gemini.GeminiTestJson;
using Xunit;

namespace Serverless.Tests.Formats.Gemini;

public sealed class GeminiRequestReaderTests
{
    [Theory]
    [InlineData("models/gemini-2.5-flash", "gemini-2.5-flash")]
    [InlineData("gemini-2.5-flash", "gemini-2.5-flash")]
    [InlineData("models/gemini-2.5-pro:streamGenerateContent", "gemini-2.5-pro")]
    [InlineData("/models/gemini-2.0-flash/", "gemini-2.0-flash")]
    public void ReadRequest_ModelFromPath_IsBareName(string path, string expected)
    {
        var request = ReadRequest("""{"contents":[{"parts":[{"text":"hi"}]}]}""", path);

        Assert.Equal(expected, request.Model);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadRequest_StreamFlag_ComesFromUrl(bool stream)
    {
        var request = ReadRequest("""{"contents":[{"parts":[{"text":"hi"}]}]}""", stream: stream);

        Assert.Equal(stream, request.Stream);
        Assert.False(request.StreamUsage);
    }

    [Theory]
    [InlineData("systemInstruction")]
    [InlineData("system_instruction")]
    public void ReadRequest_SystemInstruction_BecomesSystemParts(string field)
    {
        var request = ReadRequest($$"""{"{{field}}":{"parts":[{"text":"Be brief."},{"text":"Answer in French."}]},"contents":[{"role":"user","parts":[{"text":"hi"}]}]}""");

        Assert.Equal([new TextPart("Be brief."), new TextPart("Answer in French.")], request.System);
    }

    [Fact]
    public void ReadRequest_MultiTurn_MapsRoles()
    {
        var request = ReadRequest("""
            {"contents":[
              {"role":"user","parts":[{"text":"Hello"}]},
              {"role":"model","parts":[{"text":"Hi! How can I help?"}]},
              {"parts":[{"text":"Tell me a joke"}]}
            ]}
            """);

        Assert.Equal(3, request.Messages.Count);
        Assert.Equal(ChatRole.User, request.Messages[0].Role);
        Assert.Equal(ChatRole.Assistant, request.Messages[1].Role);
        Assert.Equal(ChatRole.User, request.Messages[2].Role);
        Assert.Equal(new TextPart("Hi! How can I help?"), Assert.Single(request.Messages[1].Content));
        Assert.Equal(new TextPart("Tell me a joke"), Assert.Single(request.Messages[2].Content));
    }

    [Theory]
    [InlineData("""{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}""")]
    [InlineData("""{"inline_data":{"mime_type":"image/png","data":"iVBORw0KGgo="}}""")]
    public void ReadRequest_InlineData_BecomesBase64Image(string part)
    {
        var request = ReadRequest($$"""{"contents":[{"role":"user","parts":[{"text":"What is this?"},{{part}}]}]}""");

        var image = Assert.IsType<ImagePart>(request.Messages[0].Content[1]);
        Assert.Equal("image/png", image.MediaType);
        Assert.Equal("iVBORw0KGgo=", image.Data);
        Assert.Null(image.Url);
    }

    [Theory]
    [InlineData("""{"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.com/cat.jpg"}}""")]
    [InlineData("""{"file_data":{"mime_type":"image/jpeg","file_uri":"https://example.com/cat.jpg"}}""")]
    public void ReadRequest_FileData_BecomesUrlImage(string part)
    {
        var request = ReadRequest($$"""{"contents":[{"role":"user","parts":[{{part}}]}]}""");

        var image = Assert.IsType<ImagePart>(Assert.Single(request.Messages[0].Content));
        Assert.Equal("https://example.com/cat.jpg", image.Url);
        Assert.Equal("image/jpeg", image.MediaType);
        Assert.Null(image.Data);
    }

    [Fact]
    public void ReadRequest_FunctionCallsWithoutIds_GetDeterministicIdsAndPairByName()
    {
        var request = ReadRequest("""
            {"contents":[
              {"role":"user","parts":[{"text":"Weather in Paris and London?"}]},
              {"role":"model","parts":[
                {"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},
                {"functionCall":{"name":"get_weather","args":{"city":"London"}}},
                {"functionCall":{"name":"get_time","args":{}}}
              ]},
              {"role":"user","parts":[
                {"functionResponse":{"name":"get_time","response":{"result":"12:00"}}},
                {"functionResponse":{"name":"get_weather","response":{"temp":21}}},
                {"functionResponse":{"name":"get_weather","response":{"temp":17}}}
              ]}
            ]}
            """);

        var calls = request.Messages[1].Content.Cast<ToolCallPart>().ToList();
        Assert.Equal(new ToolCallPart("call_1_0", "get_weather", """{"city":"Paris"}"""), calls[0]);
        Assert.Equal(new ToolCallPart("call_1_1", "get_weather", """{"city":"London"}"""), calls[1]);
        Assert.Equal(new ToolCallPart("call_1_2", "get_time", "{}"), calls[2]);

        Assert.Equal(ChatRole.Tool, request.Messages[2].Role);
        var results = request.Messages[2].Content.Cast<ToolResultPart>().ToList();
        Assert.Equal(["call_1_2", "call_1_0", "call_1_1"], results.Select(r => r.ToolCallId));
        Assert.Equal(["get_time", "get_weather", "get_weather"], results.Select(r => r.ToolName));
        Assert.Equal(new TextPart("12:00"), Assert.Single(results[0].Content));
        Assert.Equal(new TextPart("""{"temp":21}"""), Assert.Single(results[1].Content));
        Assert.All(results, r => Assert.False(r.IsError));
    }

    [Fact]
    public void ReadRequest_FunctionCallIds_AreUsedForPairing()
    {
        var request = ReadRequest("""
            {"contents":[
              {"role":"model","parts":[
                {"functionCall":{"id":"a1","name":"lookup","args":{"q":"x"}}},
                {"functionCall":{"id":"b2","name":"lookup","args":{"q":"y"}}}
              ]},
              {"role":"user","parts":[
                {"functionResponse":{"id":"b2","name":"lookup","response":{"result":"Y"}}},
                {"functionResponse":{"name":"lookup","response":{"result":"X"}}}
              ]}
            ]}
            """);

        Assert.Equal(["a1", "b2"], request.Messages[0].Content.Cast<ToolCallPart>().Select(c => c.Id));
        Assert.Equal(["b2", "a1"], request.Messages[1].Content.Cast<ToolResultPart>().Select(r => r.ToolCallId));
    }

    [Fact]
    public void ReadRequest_FunctionResponseWithoutCall_KeepsSyntheticId()
    {
        var request = ReadRequest("""{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"orphan","response":{"result":"x"}}}]}]}""");

        var result = Assert.IsType<ToolResultPart>(Assert.Single(request.Messages[0].Content));
        Assert.Equal("call_0_0", result.ToolCallId);
    }

    [Fact]
    public void ReadRequest_FunctionResponseWithText_SplitsToolAndUserMessages()
    {
        var request = ReadRequest("""
            {"contents":[
              {"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},
              {"role":"user","parts":[{"text":"here you go"},{"functionResponse":{"name":"f","response":{"error":"boom"}}}]}
            ]}
            """);

        Assert.Equal([ChatRole.Assistant, ChatRole.Tool, ChatRole.User], request.Messages.Select(m => m.Role));
        var result = Assert.IsType<ToolResultPart>(Assert.Single(request.Messages[1].Content));
        Assert.True(result.IsError);
        Assert.Equal(new TextPart("boom"), Assert.Single(result.Content));
        Assert.Equal(new TextPart("here you go"), Assert.Single(request.Messages[2].Content));
    }

    [Fact]
    public void ReadRequest_RoleFunction_IsToolMessage()
    {
        var request = ReadRequest("""
            {"contents":[
              {"role":"model","parts":[{"function_call":{"name":"f","args":{"a":1}}}]},
              {"role":"function","parts":[{"function_response":{"name":"f","response":{"output":"done"}}}]}
            ]}
            """);

        Assert.Equal(ChatRole.Tool, request.Messages[1].Role);
        var result = Assert.IsType<ToolResultPart>(Assert.Single(request.Messages[1].Content));
        Assert.Equal("call_0_0", result.ToolCallId);
        Assert.Equal(new TextPart("done"), Assert.Single(result.Content));
    }

    [Fact]
    public void ReadRequest_ThoughtParts_BecomeThinkingAndCallSignaturesAreKept()
    {
        var request = ReadRequest("""
            {"contents":[
              {"role":"model","parts":[
                {"text":"Let me think.","thought":true,"thoughtSignature":"c2lnMQ=="},
                {"functionCall":{"name":"f","args":{}},"thoughtSignature":"c2lnMg=="}
              ]}
            ]}
            """);

        Assert.Equal(
            [new ThinkingPart("Let me think.", "c2lnMQ=="), new ThinkingPart(string.Empty, "c2lnMg=="), new ToolCallPart("call_0_1", "f", "{}")],
            request.Messages[0].Content);
    }

    [Fact]
    public void ReadRequest_Tools_ConvertGeminiSchemaToJsonSchema()
    {
        var request = ReadRequest("""
            {"contents":[{"parts":[{"text":"hi"}]}],
             "tools":[
               {"functionDeclarations":[
                 {"name":"get_weather","description":"Weather by city","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING","description":"City"},"unit":{"type":"STRING","format":"enum","enum":["C","F"],"nullable":true}},"required":["city"]}},
                 {"name":"ping"}
               ]},
               {"googleSearch":{}},
               {"function_declarations":[{"name":"raw","parameters_json_schema":{"type":"object","properties":{"x":{"type":"integer","minimum":1}},"additionalProperties":false}}]}
             ]}
            """);

        Assert.Equal(["get_weather", "ping", "raw"], request.Tools.Select(t => t.Name));
        Assert.Equal("Weather by city", request.Tools[0].Description);
        Assert.Equal(
            """{"type":"object","properties":{"city":{"type":"string","description":"City"},"unit":{"type":["string","null"],"enum":["C","F"]}},"required":["city"]}""",
            request.Tools[0].Parameters.ToJsonString());
        Assert.Equal("""{"type":"object","properties":{}}""", request.Tools[1].Parameters.ToJsonString());
        Assert.Equal("""{"type":"object","properties":{"x":{"type":"integer","minimum":1}},"additionalProperties":false}""", request.Tools[2].Parameters.ToJsonString());
    }

    [Theory]
    [InlineData("""{"mode":"AUTO"}""", nameof(ToolChoiceKind.Auto), null)]
    [InlineData("""{"mode":"NONE"}""", nameof(ToolChoiceKind.None), null)]
    [InlineData("""{"mode":"ANY"}""", nameof(ToolChoiceKind.Required), null)]
    [InlineData("""{"mode":"ANY","allowedFunctionNames":["a","b"]}""", nameof(ToolChoiceKind.Required), null)]
    [InlineData("""{"mode":"ANY","allowedFunctionNames":["get_weather"]}""", nameof(ToolChoiceKind.Tool), "get_weather")]
    [InlineData("""{"mode":"ANY","allowed_function_names":["get_weather"]}""", nameof(ToolChoiceKind.Tool), "get_weather")]
    [InlineData("""{"mode":"VALIDATED"}""", nameof(ToolChoiceKind.Auto), null)]
    public void ReadRequest_FunctionCallingConfig_MapsToToolChoice(string config, string kindName, string? name)
    {
        var kind = Enum.Parse<ToolChoiceKind>(kindName);
        var request = ReadRequest($$$"""{"contents":[{"parts":[{"text":"hi"}]}],"toolConfig":{"functionCallingConfig":{{{config}}}}}""");

        Assert.Equal(new ToolChoice(kind, name), request.ToolChoice);
    }

    [Theory]
    [InlineData("generationConfig", "temperature", "topP", "maxOutputTokens", "stopSequences")]
    [InlineData("generation_config", "temperature", "top_p", "max_output_tokens", "stop_sequences")]
    public void ReadRequest_GenerationConfig_MapsSamplingFields(string config, string temperature, string topP, string maxTokens, string stop)
    {
        var request = ReadRequest($$$"""{"contents":[{"parts":[{"text":"hi"}]}],"{{{config}}}":{"{{{temperature}}}":0.2,"{{{topP}}}":0.9,"{{{maxTokens}}}":256,"{{{stop}}}":["END","STOP"],"candidateCount":1}}""");

        Assert.Equal(0.2, request.Temperature);
        Assert.Equal(0.9, request.TopP);
        Assert.Equal(256, request.MaxOutputTokens);
        Assert.Equal(["END", "STOP"], request.StopSequences);
    }

    [Fact]
    public void ReadRequest_NoOptionalFields_LeavesDefaults()
    {
        var request = ReadRequest("""{"contents":[{"parts":[{"text":"hi"}]}]}""");

        Assert.Empty(request.System);
        Assert.Empty(request.Tools);
        Assert.Null(request.ToolChoice);
        Assert.Null(request.Temperature);
        Assert.Null(request.MaxOutputTokens);
        Assert.Empty(request.StopSequences);
    }

    [Theory]
    [InlineData("""[]""", "request body: must be a JSON object", null)]
    [InlineData("""{}""", "contents: field required", "contents")]
    [InlineData("""{"contents":null}""", "contents: field required", "contents")]
    [InlineData("""{"contents":{}}""", "contents: must be an array", "contents")]
    [InlineData("""{"contents":[]}""", "contents: must not be empty", "contents")]
    [InlineData("""{"contents":["hi"]}""", "contents[0]: must be an object", "contents[0]")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]},{"role":"assistant","parts":[{"text":"b"}]}]}""", "contents[1].role: must be one of user, model", "contents[1].role")]
    [InlineData("""{"contents":[{"role":"user"}]}""", "contents[0].parts: field required", "contents[0].parts")]
    [InlineData("""{"contents":[{"role":"user","parts":[]}]}""", "contents[0].parts: must not be empty", "contents[0].parts")]
    [InlineData("""{"contents":[{"role":"user","parts":[{"text":1}]}]}""", "contents[0].parts[0].text: must be a string", "contents[0].parts[0].text")]
    [InlineData("""{"contents":[{"role":"user","parts":[{"inlineData":{"data":"AAAA"}}]}]}""", "contents[0].parts[0].inlineData.mimeType: field required", "contents[0].parts[0].inlineData.mimeType")]
    [InlineData("""{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/png"}}]}]}""", "contents[0].parts[0].inlineData.data: field required", "contents[0].parts[0].inlineData.data")]
    [InlineData("""{"contents":[{"role":"user","parts":[{"fileData":{"mimeType":"image/png"}}]}]}""", "contents[0].parts[0].fileData.fileUri: field required", "contents[0].parts[0].fileData.fileUri")]
    [InlineData("""{"contents":[{"role":"model","parts":[{"functionCall":{"args":{}}}]}]}""", "contents[0].parts[0].functionCall.name: field required", "contents[0].parts[0].functionCall.name")]
    [InlineData("""{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":"x"}}]}]}""", "contents[0].parts[0].functionCall.args: must be an object", "contents[0].parts[0].functionCall.args")]
    [InlineData("""{"contents":[{"role":"user","parts":[{"functionResponse":{"response":{}}}]}]}""", "contents[0].parts[0].functionResponse.name: field required", "contents[0].parts[0].functionResponse.name")]
    [InlineData("""{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":"ok"}}]}]}""", "contents[0].parts[0].functionResponse.response: must be an object", "contents[0].parts[0].functionResponse.response")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"systemInstruction":"be nice"}""", "systemInstruction: must be an object", "systemInstruction")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"systemInstruction":{"parts":[{"inlineData":{}}]}}""", "systemInstruction.parts[0].text: field required", "systemInstruction.parts[0].text")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"tools":{}}""", "tools: must be an array", "tools")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"tools":[{"functionDeclarations":[{"description":"d"}]}]}""", "tools[0].functionDeclarations[0].name: field required", "tools[0].functionDeclarations[0].name")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"toolConfig":{"functionCallingConfig":{"mode":"SOMETIMES"}}}""", "toolConfig.functionCallingConfig.mode: must be one of AUTO, ANY, NONE, VALIDATED", "toolConfig.functionCallingConfig.mode")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"temperature":"hot"}}""", "generationConfig.temperature: must be a number", "generationConfig.temperature")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"maxOutputTokens":0}}""", "generationConfig.maxOutputTokens: must be a positive integer", "generationConfig.maxOutputTokens")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"stopSequences":"END"}}""", "generationConfig.stopSequences: must be an array of strings", "generationConfig.stopSequences")]
    public void ReadRequest_InvalidBody_ReturnsFieldError(string body, string message, string? param)
    {
        var error = ReadRequestError(body);

        Assert.Equal(ErrorKind.InvalidRequest, error.Kind);
        Assert.Equal(message, error.Message);
        Assert.Equal(param, error.Param);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("models/")]
    public void ReadRequest_NoModelInPath_ReturnsError(string? model)
    {
        var error = ReadRequestError("""{"contents":[{"parts":[{"text":"a"}]}]}""", model);

        Assert.Equal("model: must be given in the URL path, as models/{model}:generateContent", error.Message);
        Assert.Equal("model", error.Param);
    }

    [Fact]
    public void ReadRequest_ToolParameters_OutliveTheBodyDocument()
    {
        ChatRequest request;
        using (var document = System.Text.Json.JsonDocument.Parse("""{"contents":[{"parts":[{"text":"a"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","properties":{"a":{"type":"STRING","enum":["x"]}}}}]}]}"""))
        {
            request = Relay.Formats.Gemini.GeminiFormat.Instance.ReadRequest(document.RootElement, "gemini-2.5-flash", false).Value!;
        }

        Assert.Equal("""{"type":"object","properties":{"a":{"type":"string","enum":["x"]}}}""", request.Tools[0].Parameters.ToJsonString());
        Assert.IsType<JsonObject>(request.Tools[0].Parameters["properties"]);
    }
}
