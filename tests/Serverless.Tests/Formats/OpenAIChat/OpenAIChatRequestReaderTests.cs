using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;
using static Serverless.Tests.Formats.OpenAIChat.OpenAIChatTestSupport;
using Xunit;

namespace Serverless.Tests.Formats.OpenAIChat;

public sealed class OpenAIChatRequestReaderTests
{
    [Fact]
    public void ReadRequest_FullConversation_MapsEveryField()
    {
        var request = ReadRequest("""
            {
              "model": "gpt-4o",
              "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Use tools.", "cache_control": {"type": "ephemeral"}}]},
                {"role": "user", "content": [
                  {"type": "text", "text": "What is in these images, and the weather?"},
                  {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}},
                  {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                  {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                  {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "12:00"}]},
                {"role": "assistant", "content": "Cats; 18C at noon."},
                {"role": "user", "content": "Thanks"}
              ],
              "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
              "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
              "parallel_tool_calls": false,
              "temperature": 0.2,
              "top_p": 0.9,
              "max_completion_tokens": 256,
              "stop": ["END"],
              "stream": true,
              "stream_options": {"include_usage": true},
              "user": "user-42"
            }
            """);

        Assert.Equal("gpt-4o", request.Model);
        Assert.Equal(2, request.System.Count);
        Assert.Equal("Be brief.", request.System[0].Text);
        Assert.Null(request.System[0].CacheControl);
        Assert.Equal("Use tools.", request.System[1].Text);
        Assert.Equal("""{"type":"ephemeral"}""", request.System[1].CacheControl!.ToJsonString());

        Assert.Equal(5, request.Messages.Count);
        var user = request.Messages[0];
        Assert.Equal(ChatRole.User, user.Role);
        Assert.Equal(new TextPart("What is in these images, and the weather?"), user.Content[0]);
        Assert.Equal(new ImagePart { Url = "https://example.com/a.png", Detail = "high" }, user.Content[1]);
        Assert.Equal(new ImagePart { MediaType = "image/jpeg", Data = "/9j/4AAQ" }, user.Content[2]);

        var assistant = request.Messages[1];
        Assert.Equal(ChatRole.Assistant, assistant.Role);
        Assert.Equal(
            [new ToolCallPart("call_1", "get_weather", """{"city":"Paris"}"""), new ToolCallPart("call_2", "get_time", "{}")],
            assistant.Content);

        // Consecutive tool messages become one Tool turn, names looked up from the calls.
        var tool = request.Messages[2];
        Assert.Equal(ChatRole.Tool, tool.Role);
        Assert.Equal(2, tool.Content.Count);
        var first = Assert.IsType<ToolResultPart>(tool.Content[0]);
        Assert.Equal(("call_1", "get_weather", false), (first.ToolCallId, first.ToolName, first.IsError));
        Assert.Equal([new TextPart("18C")], first.Content);
        var second = Assert.IsType<ToolResultPart>(tool.Content[1]);
        Assert.Equal(("call_2", "get_time"), (second.ToolCallId, second.ToolName));
        Assert.Equal([new TextPart("12:00")], second.Content);

        Assert.Equal(ChatRole.Assistant, request.Messages[3].Role);
        Assert.Equal([new TextPart("Cats; 18C at noon.")], request.Messages[3].Content);
        Assert.Equal([new TextPart("Thanks")], request.Messages[4].Content);

        var definition = Assert.Single(request.Tools);
        Assert.Equal("get_weather", definition.Name);
        Assert.Equal("Weather by city", definition.Description);
        Assert.Equal("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""", definition.Parameters.ToJsonString());
        Assert.Equal(new ToolChoice(ToolChoiceKind.Tool, "get_weather"), request.ToolChoice);
        Assert.False(request.ParallelToolCalls);
        Assert.Equal(0.2, request.Temperature);
        Assert.Equal(0.9, request.TopP);
        Assert.Equal(256, request.MaxOutputTokens);
        Assert.Equal(["END"], request.StopSequences);
        Assert.True(request.Stream);
        Assert.True(request.StreamUsage);
        Assert.Equal("user-42", request.User);
    }

    [Fact]
    public void ReadRequest_MinimalBody_UsesDefaults()
    {
        var request = ReadRequest("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Empty(request.System);
        Assert.Empty(request.Tools);
        Assert.Null(request.ToolChoice);
        Assert.Null(request.ParallelToolCalls);
        Assert.Null(request.Temperature);
        Assert.Null(request.TopP);
        Assert.Null(request.MaxOutputTokens);
        Assert.Empty(request.StopSequences);
        Assert.False(request.Stream);
        Assert.False(request.StreamUsage);
        Assert.Null(request.User);
    }

    [Theory]
    [InlineData("\"auto\"", "Auto", null)]
    [InlineData("\"none\"", "None", null)]
    [InlineData("\"required\"", "Required", null)]
    [InlineData("""{"type":"function","function":{"name":"lookup"}}""", "Tool", "lookup")]
    public void ReadRequest_ToolChoice_MapsKind(string toolChoice, string kind, string? name)
    {
        var request = ReadRequest($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{{toolChoice}}}""");

        Assert.Equal(new ToolChoice(Enum.Parse<ToolChoiceKind>(kind), name), request.ToolChoice);
    }

    /// <summary>
    /// <c>allowed_tools</c> lets the model call only the listed function and custom tools, and requires a call when its
    /// mode says so; the other tools are not offered.
    /// </summary>
    [Theory]
    [InlineData("auto", "Auto")]
    [InlineData("required", "Required")]
    public void ReadRequest_AllowedToolsChoice_OffersOnlyTheListedFunctions(string mode, string kind)
    {
        var request = ReadRequest($$$$"""
            {"model":"m","messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"get_time"}},{"type":"function","function":{"name":"send_mail"}},
                      {"type":"custom","custom":{"name":"apply_patch"}},{"type":"custom","custom":{"name":"run_sql"}}],
             "tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"{{{{mode}}}}","tools":[
               {"type":"function","function":{"name":"send_mail"}},{"type":"custom","custom":{"name":"apply_patch"}},{"type":"function","function":{"name":"get_weather"}}]}}}
            """);

        Assert.Equal(new ToolChoice(Enum.Parse<ToolChoiceKind>(kind)), request.ToolChoice);
        Assert.Equal(["get_weather", "send_mail", "apply_patch"], request.Tools.Select(tool => tool.Name));
    }

    /// <summary>
    /// A custom (freeform) tool, GPT-5's, becomes a function taking one string, <c>input</c>, its grammar written after
    /// the description (Chat nests it in <c>format.grammar</c>), so an upstream of another format can be offered it.
    /// </summary>
    [Fact]
    public void ReadRequest_CustomTool_FunctionTakingOneString()
    {
        var request = ReadRequest("""
            {"model":"m","messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"custom","custom":{"name":"run_sql","description":"Run a query.","format":{"type":"grammar","grammar":{"syntax":"lark","definition":"start: \"SELECT\" /.+/"}}}},
                      {"type":"custom","custom":{"name":"note"}}]}
            """);

        var sql = request.Tools[0];
        Assert.True(sql.IsCustom);
        Assert.Equal("run_sql", sql.Name);
        Assert.Equal("Run a query.\n\nThe `input` string must follow this lark grammar:\nstart: \"SELECT\" /.+/", sql.Description);
        Assert.Equal(OpenAICustomTool.InputSchema().ToJsonString(), sql.Parameters.ToJsonString());
        Assert.True(request.Tools[1].IsCustom);
        Assert.Null(request.Tools[1].Description);
    }

    /// <summary>A custom tool call sent back is a call of the function that stands for the tool, its input the one argument.</summary>
    [Fact]
    public void ReadRequest_CustomToolCallInHistory_CallWithInputArgument()
    {
        var request = ReadRequest("""
            {"model":"m","tools":[{"type":"custom","custom":{"name":"run_sql"}}],"messages":[{"role":"user","content":"hi"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"custom","custom":{"name":"run_sql","input":"SELECT \"é\""}}]},
             {"role":"tool","tool_call_id":"call_1","content":"1 row"}]}
            """);

        Assert.Equal(new ToolCallPart("call_1", "run_sql", "{\"input\":\"SELECT \\\"é\\\"\"}"), Assert.Single(request.Messages[1].Content));
        Assert.Equal("run_sql", Assert.IsType<ToolResultPart>(Assert.Single(request.Messages[2].Content)).ToolName);
    }

    [Fact]
    public void ReadRequest_CustomToolChoice_ForcesTheTool()
    {
        var request = ReadRequest("""
            {"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"custom","custom":{"name":"run_sql"}}],
             "tool_choice":{"type":"custom","custom":{"name":"run_sql"}}}
            """);

        Assert.Equal(new ToolChoice(ToolChoiceKind.Tool, "run_sql"), request.ToolChoice);
    }

    /// <summary>
    /// Audio output and log probabilities only an OpenAI upstream gives: the request reads, and says why no other
    /// format's upstream can serve it (those accounts are left out; with none left, that is the answer).
    /// </summary>
    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"modalities":["text","audio"],"audio":{"voice":"alloy","format":"wav"}}""", "audio: an upstream of another format answers in text only; leave audio out", "audio")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"modalities":["text","audio"]}""", "modalities: an upstream of another format answers in text only; leave modalities out or [\"text\"]", "modalities")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":5}""", "logprobs: an upstream of another format gives no log probabilities; leave logprobs out", "logprobs")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"top_logprobs":2}""", "top_logprobs: an upstream of another format gives no log probabilities; leave top_logprobs out", "top_logprobs")]
    public void ReadRequest_OnlyOpenAIAnswers_UntranslatableNamesTheField(string body, string message, string param)
    {
        var request = ReadRequest(body);

        Assert.Equal((message, param), (request.Untranslatable?.Message, request.Untranslatable?.Param));
    }

    /// <summary>Text output, said or not, is what every upstream gives: such a request is not held back.</summary>
    [Theory]
    [InlineData("\"modalities\":[\"text\"]")]
    [InlineData("\"modalities\":null,\"audio\":null")]
    [InlineData("\"logprobs\":false,\"top_logprobs\":0")]
    public void ReadRequest_TextOnlyAnswer_Read(string fields)
    {
        var request = ReadRequest($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],{{fields}}}""");

        Assert.Equal("hi", Assert.IsType<TextPart>(Assert.Single(request.Messages[0].Content)).Text);
        Assert.Null(request.Untranslatable);
    }

    [Theory]
    [InlineData("\"END\"", new[] { "END" })]
    [InlineData("""["a","b"]""", new[] { "a", "b" })]
    [InlineData("null", new string[0])]
    public void ReadRequest_Stop_ReadsStringOrArray(string stop, string[] expected)
    {
        var request = ReadRequest($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":{{stop}}}""");

        Assert.Equal(expected, request.StopSequences);
    }

    [Theory]
    [InlineData("\"max_tokens\":100", 100)]
    [InlineData("\"max_completion_tokens\":200", 200)]
    [InlineData("\"max_tokens\":100,\"max_completion_tokens\":200", 200)]
    public void ReadRequest_MaxTokens_PrefersMaxCompletionTokens(string fields, int expected)
    {
        var request = ReadRequest($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],{{fields}}}""");

        Assert.Equal(expected, request.MaxOutputTokens);
    }

    [Theory]
    [InlineData("\"user\":\"u1\"", "u1")]
    [InlineData("\"prompt_cache_key\":\"k1\"", "k1")]
    [InlineData("\"user\":\"u1\",\"prompt_cache_key\":\"k1\"", "u1")]
    [InlineData("\"safety_identifier\":\"s1\",\"prompt_cache_key\":\"k1\"", "s1")]
    [InlineData("\"user\":\"u1\",\"safety_identifier\":\"s1\"", "u1")]
    public void ReadRequest_User_FallsBackToSafetyIdentifierThenPromptCacheKey(string fields, string expected)
    {
        var request = ReadRequest($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],{{fields}}}""");

        Assert.Equal(expected, request.User);
    }

    [Theory]
    [InlineData("""{"include_usage":true}""", true)]
    [InlineData("""{"include_usage":false}""", false)]
    [InlineData("{}", false)]
    public void ReadRequest_StreamOptions_SetsStreamUsage(string streamOptions, bool expected)
    {
        var request = ReadRequest($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{{streamOptions}}}""");

        Assert.Equal(expected, request.StreamUsage);
    }

    [Fact]
    public void ReadRequest_CacheControlOnUserAndToolParts_KeepsIt()
    {
        var request = ReadRequest("""
            {"model":"m","messages":[
              {"role":"user","content":[{"type":"text","text":"long doc","cache_control":{"type":"ephemeral","ttl":"1h"}}]},
              {"role":"assistant","content":"","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":""}}]},
              {"role":"tool","tool_call_id":"c","content":[{"type":"text","text":"r","cache_control":{"type":"ephemeral"}}]}
            ]}
            """);

        var text = Assert.IsType<TextPart>(request.Messages[0].Content[0]);
        Assert.Equal("""{"type":"ephemeral","ttl":"1h"}""", text.CacheControl!.ToJsonString());

        // Empty content is no text, and empty arguments mean an empty object.
        Assert.Equal([new TextPart(""), new ToolCallPart("c", "f", "{}")], request.Messages[1].Content);

        var result = Assert.IsType<ToolResultPart>(request.Messages[2].Content[0]);
        Assert.Equal("""{"type":"ephemeral"}""", Assert.IsType<TextPart>(result.Content[0]).CacheControl!.ToJsonString());
    }

    [Fact]
    public void ReadRequest_AssistantRefusal_BecomesText()
    {
        var request = ReadRequest("""
            {"model":"m","messages":[
              {"role":"user","content":"x"},
              {"role":"assistant","content":[{"type":"refusal","refusal":"I can't."}]},
              {"role":"assistant","content":null,"refusal":"No."}
            ]}
            """);

        Assert.Equal([new TextPart("I can't.")], request.Messages[1].Content);
        Assert.Equal([new TextPart("No.")], request.Messages[2].Content);
    }

    [Fact]
    public void ReadRequest_ImageVariants_ParsesDataUrlsAndBareStrings()
    {
        var request = ReadRequest("""
            {"model":"m","messages":[{"role":"user","content":[
              {"type":"image_url","image_url":"https://example.com/b.gif"},
              {"type":"image_url","image_url":{"url":"data:image/png;charset=binary;base64,iVBORw0KGgo=","detail":"low"}},
              {"type":"image_url","image_url":{"url":"data:image/svg+xml,%3Csvg%3E"}}
            ]},
            {"role":"assistant","content":"","tool_calls":[{"id":"c","type":"function","function":{"name":"shot","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"c","content":[{"type":"image_url","image_url":{"url":"data:image/webp;base64,UklGR"}}]}
            ]}
            """);

        Assert.Equal(
            [
                new ImagePart { Url = "https://example.com/b.gif" },
                new ImagePart { MediaType = "image/png", Data = "iVBORw0KGgo=", Detail = "low" },
                new ImagePart { Url = "data:image/svg+xml,%3Csvg%3E" },
            ],
            request.Messages[0].Content);
        var result = Assert.IsType<ToolResultPart>(request.Messages[2].Content[0]);
        Assert.Equal([new ImagePart { MediaType = "image/webp", Data = "UklGR" }], result.Content);
    }

    [Fact]
    public void ReadRequest_ToolWithoutParameters_GetsEmptyObjectSchema()
    {
        var request = ReadRequest("""
            {"model":"m","messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"ping"}}]}
            """);

        var tool = Assert.Single(request.Tools);
        Assert.Null(tool.Description);
        Assert.Equal("""{"type":"object","properties":{}}""", tool.Parameters.ToJsonString());
    }

    [Fact]
    public void ReadRequest_ArgumentsAsObject_KeepsJsonText()
    {
        var request = ReadRequest("""
            {"model":"m","messages":[{"role":"user","content":"hi"},
             {"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":{"a":1}}}]}]}
            """);

        Assert.Equal([new ToolCallPart("c", "f", """{"a":1}""")], request.Messages[1].Content);
    }

    [Theory]
    [InlineData("[]", "body: must be a JSON object", null)]
    [InlineData("""{"messages":[]}""", "model: field required", "model")]
    [InlineData("""{"model":null,"messages":[]}""", "model: field required", "model")]
    [InlineData("""{"model":5,"messages":[]}""", "model: must be a non-empty string", "model")]
    [InlineData("""{"model":""}""", "model: must be a non-empty string", "model")]
    [InlineData("""{"model":"m"}""", "messages: field required", "messages")]
    [InlineData("""{"model":"m","messages":{}}""", "messages: must be an array", "messages")]
    [InlineData("""{"model":"m","messages":[]}""", "messages: must contain at least one message", "messages")]
    [InlineData("""{"model":"m","messages":["hi"]}""", "messages[0]: must be an object", "messages[0]")]
    [InlineData("""{"model":"m","messages":[{"content":"hi"}]}""", "messages[0].role: field required", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"a"},{"role":"bot","content":"b"}]}""", "messages[1].role: must be one of system, developer, user, assistant, tool", "messages[1].role")]
    [InlineData("""{"model":"m","messages":[{"role":"function","content":"b","name":"f"}]}""", "messages[0].role: must be one of system, developer, user, assistant, tool", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user"}]}""", "messages[0].content: field required", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"system","content":null}]}""", "messages[0].content: field required", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":42}]}""", "messages[0].content: must be a string or an array of content parts", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":["hi"]}]}""", "messages[0].content[0]: must be an object", "messages[0].content[0]")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}""", "messages[0].content[0].type: must be one of text, image_url, file", "messages[0].content[0].type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"text":"hi"}]}]}""", "messages[0].content[0].type: must be one of text, image_url, file", "messages[0].content[0].type")]
    [InlineData("""{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"u"}}]}]}""", "messages[0].content[0].type: must be text", "messages[0].content[0].type")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"u"}}]}]}""", "messages[0].content[0].type: must be one of text, refusal", "messages[0].content[0].type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}""", "messages[0].content[0].text: field required", "messages[0].content[0].text")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":1}]}]}""", "messages[0].content[0].text: must be a string", "messages[0].content[0].text")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}""", "messages[0].content[0].image_url: field required", "messages[0].content[0].image_url")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}""", "messages[0].content[0].image_url.url: field required", "messages[0].content[0].image_url.url")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":{}}]}""", "messages[0].tool_calls: must be an array", "messages[0].tool_calls")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f"}}]}]}""", "messages[0].tool_calls[0].id: field required", "messages[0].tool_calls[0].id")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"mcp","function":{"name":"f"}}]}]}""", "messages[0].tool_calls[0].type: must be one of function, custom", "messages[0].tool_calls[0].type")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"custom","function":{"name":"f"}}]}]}""", "messages[0].tool_calls[0].custom: must be an object", "messages[0].tool_calls[0].custom")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"name":"f"}}]}]}""", "messages[0].tool_calls[0].custom.input: field required", "messages[0].tool_calls[0].custom.input")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function"}]}]}""", "messages[0].tool_calls[0].function: field required", "messages[0].tool_calls[0].function")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}]}""", "messages[0].tool_calls[0].function.name: field required", "messages[0].tool_calls[0].function.name")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":1}}]}]}""", "messages[0].tool_calls[0].function.arguments: must be a string", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","refusal":1}]}""", "messages[0].refusal: must be a string", "messages[0].refusal")]
    [InlineData("""{"model":"m","messages":[{"role":"tool","content":"r"}]}""", "messages[0].tool_call_id: field required", "messages[0].tool_call_id")]
    [InlineData("""{"model":"m","messages":[{"role":"tool","tool_call_id":"c"}]}""", "messages[0].content: field required", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":{}}""", "tools: must be an array", "tools")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search"}]}""", "tools[0].type: must be one of function, custom", "tools[0].type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"custom","custom":{}}]}""", "tools[0].custom.name: field required", "tools[0].custom.name")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"custom"}]}""", "tools[0].custom: must be an object", "tools[0].custom")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"custom","custom":{}}}""", "tool_choice.custom.name: field required", "tool_choice.custom.name")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function"}]}""", "tools[0].function: must be an object", "tools[0].function")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{}}]}""", "tools[0].function.name: field required", "tools[0].function.name")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}""", "tools[0].function.parameters: must be an object", "tools[0].function.parameters")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","strict":"yes"}}]}""", "tools[0].function.strict: must be a boolean", "tools[0].function.strict")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"any"}""", "tool_choice: must be one of auto, none, required, {\"type\": \"function\", \"function\": {\"name\": ...}}, {\"type\": \"custom\", \"custom\": {\"name\": ...}}, or {\"type\": \"allowed_tools\", ...}", "tool_choice")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"allowed_tools"}}""", "tool_choice.allowed_tools: field required", "tool_choice.allowed_tools")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"any","tools":[]}}}""", "tool_choice.allowed_tools.mode: must be one of auto, required", "tool_choice.allowed_tools.mode")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto"}}}""", "tool_choice.allowed_tools.tools: must be an array", "tool_choice.allowed_tools.tools")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{}}]}}}""", "tool_choice.allowed_tools.tools[0].function.name: field required", "tool_choice.allowed_tools.tools[0].function.name")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"function","function":{}}}""", "tool_choice.function.name: field required", "tool_choice.function.name")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"parallel_tool_calls":"yes"}""", "parallel_tool_calls: must be a boolean", "parallel_tool_calls")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"modalities":"text"}""", "modalities: must be an array of strings", "modalities")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":"yes"}""", "logprobs: must be a boolean", "logprobs")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature: must be a number", "temperature")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"top_p":true}""", "top_p: must be a number", "top_p")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1.5}""", "max_tokens: must be an integer", "max_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":0}""", "max_completion_tokens: must be at least 1", "max_completion_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["a",1]}""", "stop: must be a string or an array of strings", "stop")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"true"}""", "stream: must be a boolean", "stream")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":true}""", "stream_options: must be an object", "stream_options")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":1}}""", "stream_options.include_usage: must be a boolean", "stream_options.include_usage")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"user":7}""", "user: must be a string", "user")]
    public void ReadRequest_InvalidBody_ReturnsFieldError(string body, string message, string? param)
    {
        var parsed = Format.ReadRequest(Parse(body), modelFromPath: null, stream: false);

        Assert.Null(parsed.Value);
        Assert.Equal(new RelayError(ErrorKind.InvalidRequest, message, param), parsed.Error);
    }

    [Fact]
    public void ReadRequest_ExplicitNullOptionalFields_AreIgnored()
    {
        var request = ReadRequest("""
            {"model":"m","messages":[{"role":"user","content":"hi"}],"tools":null,"tool_choice":null,"temperature":null,
             "max_tokens":null,"stop":null,"stream":null,"stream_options":null,"user":null}
            """);

        Assert.Empty(request.Tools);
        Assert.Null(request.ToolChoice);
        Assert.Null(request.Temperature);
        Assert.Null(request.MaxOutputTokens);
        Assert.Empty(request.StopSequences);
        Assert.False(request.Stream);
        Assert.False(request.StreamUsage);
        Assert.Null(request.User);
    }
}
