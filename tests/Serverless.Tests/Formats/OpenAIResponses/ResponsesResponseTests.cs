#pragma warning disable OPENAI001 // The SDK's Responses types are experimental.
using System.ClientModel.Primitives;
using OpenAI.Responses;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;
using static Serverless.Tests.Formats.OpenAIResponses.ResponsesTestJson;

namespace Serverless.Tests.Formats.OpenAIResponses;

public sealed class ResponsesResponseTests
{
    private static readonly ChatResponse ToolAnswer = new()
    {
        Id = "msg_01",
        Model = "claude-sonnet-4",
        Created = 1741290958,
        Content =
        [
            new ThinkingPart("User wants weather.", "sig"),
            new TextPart("Let me check."),
            new TextPart(" One moment."),
            new ToolCallPart("call_a", "get_weather", "{\"city\":\"Paris\"}"),
            new TextPart("Done."),
        ],
        StopReason = StopReason.ToolUse,
        Usage = new Usage { InputTokens = 100, CacheReadTokens = 20, CacheWriteTokens = 5, OutputTokens = 50, ReasoningTokens = 10 },
    };

    private static string WriteResponse(ChatResponse response) => Write(writer => OpenAIResponsesFormat.Instance.WriteResponse(response, AnswerOnly.Request, writer));

    private static ChatResponse ReadOk(string json)
    {
        var parsed = OpenAIResponsesFormat.Instance.ReadResponse(Parse(json));
        Assert.Null(parsed.Error);
        return parsed.Value!;
    }

    [Fact]
    public void WriteResponse_MixedContent_WritesOpenAIResponseObject()
    {
        Assert.Equal(Compact("""
            {'id':'resp_msg_01','object':'response','created_at':1741290958,'status':'completed','background':false,'error':null,'incomplete_details':null,
             'instructions':null,'max_output_tokens':null,'model':'claude-sonnet-4','output':[
               {'id':'rs_msg_01_0','type':'reasoning','summary':[{'type':'summary_text','text':'User wants weather.'}]},
               {'id':'msg_msg_01_1','type':'message','status':'completed','role':'assistant','content':[
                 {'type':'output_text','text':'Let me check.','annotations':[],'logprobs':[]},
                 {'type':'output_text','text':' One moment.','annotations':[],'logprobs':[]}]},
               {'id':'fc_msg_01_2','type':'function_call','status':'completed','arguments':'{\u0022city\u0022:\u0022Paris\u0022}','call_id':'call_a','name':'get_weather'},
               {'id':'msg_msg_01_3','type':'message','status':'completed','role':'assistant','content':[{'type':'output_text','text':'Done.','annotations':[],'logprobs':[]}]}],
             'parallel_tool_calls':true,'previous_response_id':null,'reasoning':{'effort':null,'summary':null},'store':false,'temperature':null,
             'text':{'format':{'type':'text'}},'tool_choice':'auto','tools':[],'top_p':null,'truncation':'disabled',
             'usage':{'input_tokens':125,'input_tokens_details':{'cached_tokens':20,'cache_write_tokens':5},'output_tokens':50,'output_tokens_details':{'reasoning_tokens':10},'total_tokens':175},
             'user':null,'metadata':{}}
            """), WriteResponse(ToolAnswer));
    }

    /// <summary>
    /// A non-streamed answer repeats the request's settings as the real API does and as a streamed one already did
    /// (it said null and [] for every one of them), and the official SDK reads them back.
    /// </summary>
    [Fact]
    public void WriteResponse_RequestSettings_EchoedInTheResponseObject_ReadByTheOfficialSdk()
    {
        var written = Write(writer => OpenAIResponsesFormat.Instance.WriteResponse(ToolAnswer, WithEchoedSettings, writer));

        var json = Parse(written);
        Assert.Equal("Be brief.", json.GetProperty("instructions").GetString());
        Assert.Equal(50, json.GetProperty("max_output_tokens").GetInt32());
        Assert.Equal(0.25, json.GetProperty("temperature").GetDouble());
        Assert.Equal(0.5, json.GetProperty("top_p").GetDouble());
        Assert.False(json.GetProperty("parallel_tool_calls").GetBoolean());
        Assert.Equal("required", json.GetProperty("tool_choice").GetString());
        Assert.Equal(Compact("[{'type':'function','name':'f','description':'Does f','parameters':{'type':'object'},'strict':false}]"), json.GetProperty("tools").GetRawText());
        Assert.Equal("u1", json.GetProperty("user").GetString());
        var result = ModelReaderWriter.Read<ResponseResult>(BinaryData.FromString(written))!;
        Assert.Equal(50, result.MaxOutputTokenCount);
        Assert.Equal("f", Assert.IsType<FunctionTool>(Assert.Single(result.Tools)).FunctionName);
    }

    [Fact]
    public void WriteResponse_JsonSchemaRequested_EchoesTheFormatNotText()
    {
        var request = WithEchoedSettings with
        {
            OutputFormat = new OutputFormat(OutputFormatKind.JsonSchema, "place", new System.Text.Json.Nodes.JsonObject { ["type"] = "object" }, Strict: true),
        };

        var written = Write(writer => OpenAIResponsesFormat.Instance.WriteResponse(ToolAnswer, request, writer));

        Assert.Equal(
            Compact("{'format':{'type':'json_schema','name':'place','schema':{'type':'object'},'strict':true}}"),
            Parse(written).GetProperty("text").GetRawText());
    }

    [Theory]
    [InlineData(nameof(StopReason.EndTurn), "completed", null)]
    [InlineData(nameof(StopReason.ToolUse), "completed", null)]
    [InlineData(nameof(StopReason.StopSequence), "completed", null)]
    [InlineData(nameof(StopReason.Other), "completed", null)]
    [InlineData(nameof(StopReason.MaxTokens), "incomplete", "max_output_tokens")]
    [InlineData(nameof(StopReason.ContentFilter), "incomplete", "content_filter")]
    public void WriteResponse_StopReason_SetsStatusAndIncompleteDetails(string reason, string status, string? incompleteReason)
    {
        var json = Parse(WriteResponse(new ChatResponse { Id = "resp_1", Model = "m", Content = [new TextPart("x")], StopReason = Enum.Parse<StopReason>(reason) }));

        Assert.Equal("resp_1", json.GetProperty("id").GetString());
        Assert.Equal(status, json.GetProperty("status").GetString());
        var details = json.GetProperty("incomplete_details");
        Assert.Equal(incompleteReason, details.ValueKind == System.Text.Json.JsonValueKind.Null ? null : details.GetProperty("reason").GetString());
    }

    /// <summary>Answers whose last output item is a message of two parts, or a call.</summary>
    private static readonly Dictionary<string, ContentPart[]> LastItems = new()
    {
        ["message"] = [new TextPart("a"), new ToolCallPart("call_a", "f", "{}"), new TextPart("b"), new TextPart("c")],
        ["call"] = [new TextPart("a"), new ToolCallPart("call_a", "f", "{}"), new ToolCallPart("call_b", "g", "{\"x\":")],
    };

    /// <summary>The model stopped inside the last item of an answer cut short: that item is incomplete, earlier ones completed.</summary>
    [Theory]
    [InlineData(nameof(StopReason.MaxTokens), "message", "completed,completed,incomplete")]
    [InlineData(nameof(StopReason.MaxTokens), "call", "completed,completed,incomplete")]
    [InlineData(nameof(StopReason.ContentFilter), "message", "completed,completed,incomplete")]
    [InlineData(nameof(StopReason.EndTurn), "message", "completed,completed,completed")]
    [InlineData(nameof(StopReason.ToolUse), "call", "completed,completed,completed")]
    public void WriteResponse_AnswerCutShort_LastItemIncomplete(string reason, string lastItem, string statuses)
    {
        var json = Parse(WriteResponse(new ChatResponse { Id = "r", Model = "m", Content = LastItems[lastItem], StopReason = Enum.Parse<StopReason>(reason) }));

        Assert.Equal(statuses, string.Join(",", json.GetProperty("output").EnumerateArray().Select(item => item.GetProperty("status").GetString())));
    }

    [Fact]
    public void WriteResponse_OfficialSdk_ReadsIncompleteItems()
    {
        var json = WriteResponse(new ChatResponse { Id = "r", Model = "m", Content = [new TextPart("a"), new ToolCallPart("call_a", "f", "{")], StopReason = StopReason.MaxTokens });

        var result = ModelReaderWriter.Read<ResponseResult>(BinaryData.FromString(json))!;

        Assert.Equal(MessageStatus.Completed, Assert.IsAssignableFrom<MessageResponseItem>(result.OutputItems[0]).Status);
        Assert.Equal(FunctionCallStatus.Incomplete, Assert.IsType<FunctionCallResponseItem>(result.OutputItems[1]).Status);
    }

    /// <summary>An upstream that gave no id (a compatible server): each answer gets its own, and so do its items.</summary>
    [Fact]
    public void WriteResponse_UpstreamGaveNoId_FreshResponseAndItemIdsPerAnswer()
    {
        var answer = new ChatResponse { Id = "", Model = "m", Content = [new TextPart("a"), new ToolCallPart("call_a", "f", "{}")], StopReason = StopReason.ToolUse };

        var first = Parse(WriteResponse(answer));
        var second = Parse(WriteResponse(answer));

        var id = first.GetProperty("id").GetString()!;
        Assert.Matches("^resp_[0-9a-f]{32}$", id);
        Assert.NotEqual(id, second.GetProperty("id").GetString());
        var suffix = id["resp_".Length..];
        Assert.Equal(
            [$"msg_{suffix}_0", $"fc_{suffix}_1"],
            first.GetProperty("output").EnumerateArray().Select(item => item.GetProperty("id").GetString()));
    }

    /// <summary>Anthropic and Gemini's Developer API answers carry no time: stamped now, as a streamed answer is.</summary>
    [Theory]
    [InlineData(0, 1741290958)]
    [InlineData(1700000000, 1700000000)]
    public void WriteResponse_CreatedTime_UpstreamsOrNow(long created, long createdAt)
    {
        var format = new OpenAIResponsesFormat(FixedTimeProvider.At1741290958);

        var json = Parse(Write(writer => format.WriteResponse(new ChatResponse { Id = "r", Model = "m", Content = [new TextPart("x")], Created = created }, AnswerOnly.Request, writer)));

        Assert.Equal(createdAt, json.GetProperty("created_at").GetInt64());
    }

    /// <summary>
    /// Gemini's thought signature on a function call reads as reasoning with no text: a reasoning item whose summary is
    /// empty, never one part of empty text, with the signature as its encrypted_content.
    /// </summary>
    [Fact]
    public void WriteResponse_GeminiCallWithThoughtSignature_ReasoningItemWithEmptySummary()
    {
        var gemini = GeminiFormat.Instance.ReadResponse(Parse(
            "{'candidates':[{'content':{'role':'model','parts':[{'functionCall':{'name':'get_weather','args':{'city':'Paris'}},'thoughtSignature':'c2ln'}]},'finishReason':'STOP','index':0}],'modelVersion':'gemini-3-pro-preview','responseId':'r9'}")).Value!;

        var json = WriteResponse(gemini);

        var output = Parse(json).GetProperty("output");
        Assert.Equal(Compact("{'id':'rs_r9_0','type':'reasoning','summary':[],'encrypted_content':'relay:gemini:c2ln'}"), output[0].GetRawText());
        Assert.Equal("function_call", output[1].GetProperty("type").GetString());
        Assert.Empty(Assert.IsType<ReasoningResponseItem>(ModelReaderWriter.Read<ResponseResult>(BinaryData.FromString(json))!.OutputItems[0]).SummaryParts);
    }

    [Fact]
    public void WriteResponse_OfficialSdk_ReadsTextToolCallsAndUsage()
    {
        var result = ModelReaderWriter.Read<ResponseResult>(BinaryData.FromString(WriteResponse(ToolAnswer)))!;

        Assert.Equal("resp_msg_01", result.Id);
        Assert.Equal("claude-sonnet-4", result.Model);
        Assert.Equal(ResponseStatus.Completed, result.Status);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1741290958), result.CreatedAt);
        Assert.Equal("Let me check. One moment.Done.", result.GetOutputText());
        Assert.Equal(4, result.OutputItems.Count);
        var reasoning = Assert.IsType<ReasoningResponseItem>(result.OutputItems[0]);
        Assert.Equal("User wants weather.", reasoning.GetSummaryText());
        var message = Assert.IsAssignableFrom<MessageResponseItem>(result.OutputItems[1]);
        Assert.Equal(["Let me check.", " One moment."], message.Content.Select(c => c.Text));
        var call = Assert.IsType<FunctionCallResponseItem>(result.OutputItems[2]);
        Assert.Equal(("call_a", "get_weather", "{\"city\":\"Paris\"}"), (call.CallId, call.FunctionName, call.FunctionArguments.ToString()));
        Assert.Equal((125, 50, 175), (result.Usage.InputTokenCount, result.Usage.OutputTokenCount, result.Usage.TotalTokenCount));
        Assert.Equal((20, 5), (result.Usage.InputTokenDetails.CachedTokenCount, result.Usage.InputTokenDetails.CacheWriteTokenCount));
        Assert.Equal(10, result.Usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Fact]
    public void WriteResponse_OfficialSdk_ReadsIncompleteReason()
    {
        var json = WriteResponse(new ChatResponse { Id = "r", Model = "m", Content = [new TextPart("cut")], StopReason = StopReason.MaxTokens });

        var result = ModelReaderWriter.Read<ResponseResult>(BinaryData.FromString(json))!;

        Assert.Equal(ResponseStatus.Incomplete, result.Status);
        Assert.Equal(ResponseIncompleteStatusReason.MaxOutputTokens, result.IncompleteStatusDetails.Reason);
    }

    [Fact]
    public void ReadResponse_RecordedOpenAIAnswer_MapsContentStopAndUsage()
    {
        var response = ReadOk("""
            {'id':'resp_67ccd2bed1ec8190','object':'response','created_at':1741476542,'status':'completed','error':null,'incomplete_details':null,
             'model':'gpt-4.1-2025-04-14','output':[
               {'type':'reasoning','id':'rs_1','summary':[{'type':'summary_text','text':'Plan A.'},{'type':'summary_text','text':'Plan B.'}],'encrypted_content':null},
               {'type':'reasoning','id':'rs_2','summary':[]},
               {'type':'message','id':'msg_1','status':'completed','role':'assistant','content':[{'type':'output_text','text':'Hello','annotations':[]},{'type':'refusal','refusal':'No.'}]},
               {'type':'web_search_call','id':'ws_1','status':'completed'},
               {'type':'function_call','id':'fc_1','call_id':'call_1','name':'f','arguments':'{}','status':'completed'}],
             'usage':{'input_tokens':36,'input_tokens_details':{'cached_tokens':10},'output_tokens':87,'output_tokens_details':{'reasoning_tokens':20},'total_tokens':123}}
            """);

        Assert.Equal(("resp_67ccd2bed1ec8190", "gpt-4.1-2025-04-14", 1741476542L), (response.Id, response.Model, response.Created));
        Assert.Equal([new ThinkingPart("Plan A.\n\nPlan B."), new TextPart("Hello"), new TextPart("No."), new ToolCallPart("call_1", "f", "{}")], response.Content);
        Assert.Equal(StopReason.ToolUse, response.StopReason);
        Assert.Equal(new Usage { InputTokens = 26, CacheReadTokens = 10, OutputTokens = 87, ReasoningTokens = 20 }, response.Usage);
    }

    [Theory]
    [InlineData("'status':'completed'", nameof(StopReason.EndTurn))]
    [InlineData("'status':'incomplete','incomplete_details':{'reason':'max_output_tokens'}", nameof(StopReason.MaxTokens))]
    [InlineData("'status':'incomplete','incomplete_details':{'reason':'content_filter'}", nameof(StopReason.ContentFilter))]
    [InlineData("'status':'incomplete','incomplete_details':null", nameof(StopReason.Other))]
    public void ReadResponse_Status_MapsStopReason(string status, string expected)
    {
        var response = ReadOk($"{{'id':'r','model':'m',{status},'output':[{{'type':'message','role':'assistant','content':[{{'type':'output_text','text':'x'}}]}}]}}");

        Assert.Equal(Enum.Parse<StopReason>(expected), response.StopReason);
    }

    [Fact]
    public void ReadResponse_ReasoningTextContent_IsThinking()
    {
        var response = ReadOk("{'id':'r','model':'gpt-oss','status':'completed','output':[{'type':'reasoning','summary':[],'content':[{'type':'reasoning_text','text':'raw thoughts'}]}]}");

        Assert.Equal(new ThinkingPart("raw thoughts"), Assert.Single(response.Content));
    }

    [Theory]
    [InlineData("{'id':'r','status':'failed','error':{'code':'server_error','message':'The model crashed.'},'output':[]}", "The model crashed.")]
    [InlineData("{'id':'r','status':'failed','error':null,'output':[]}", "upstream response failed")]
    [InlineData("{'id':'r','status':'completed'}", "upstream response: output: field required")]
    [InlineData("[]", "upstream response: body: must be a JSON object")]
    public void ReadResponse_FailedOrUnusable_ReturnsUpstreamError(string json, string message)
    {
        var error = OpenAIResponsesFormat.Instance.ReadResponse(Parse(json)).Error!;

        Assert.Equal(ErrorKind.Upstream, error.Kind);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void WriteResponse_ThenReadResponse_RoundTrips()
    {
        var read = ReadOk(WriteResponse(ToolAnswer));

        Assert.Equal("resp_msg_01", read.Id);
        Assert.Equal(ToolAnswer.Model, read.Model);
        Assert.Equal(ToolAnswer.Created, read.Created);
        Assert.Equal([new ThinkingPart("User wants weather."), .. ToolAnswer.Content.Skip(1)], read.Content);
        Assert.Equal(StopReason.ToolUse, read.StopReason);
        Assert.Equal(ToolAnswer.Usage, read.Usage);
    }

    /// <summary>A request declaring Codex's custom apply_patch and a function in a namespace, as the reader reads them.</summary>
    internal static readonly ChatRequest CustomAndNamespacedTools = AnswerOnly.Request with
    {
        Tools =
        [
            new ToolDefinition("apply_patch", "Edit files.", OpenAICustomTool.InputSchema()) { IsCustom = true },
            new ToolDefinition("get_customer", null, ToolDefinition.NoParameters()) { Namespace = "crm" },
        ],
    };

    /// <summary>
    /// A call to a tool the client declared custom goes back as a custom_tool_call with the free text (the arguments
    /// as they came when the model left the input out); a function from a namespace names it.
    /// </summary>
    [Fact]
    public void WriteResponse_CallsToCustomAndNamespacedTools_ItemsAsTheClientDeclaredThem()
    {
        var answer = new ChatResponse
        {
            Id = "r1",
            Model = "m",
            StopReason = StopReason.ToolUse,
            Content =
            [
                new ToolCallPart("call_1", "apply_patch", "{\"input\":\"*** Begin Patch\\n+h\u00e9llo\\n*** End Patch\"}"),
                new ToolCallPart("call_2", "apply_patch", "{\"patch\":1}"),
                new ToolCallPart("call_3", "get_customer", "{\"id\":7}"),
            ],
        };

        var json = Write(writer => OpenAIResponsesFormat.Instance.WriteResponse(answer, CustomAndNamespacedTools, writer));

        Assert.Equal(Compact("""
            [{'id':'ctc_r1_0','type':'custom_tool_call','status':'completed','call_id':'call_1','name':'apply_patch','input':'*** Begin Patch\n+héllo\n*** End Patch'},
             {'id':'ctc_r1_1','type':'custom_tool_call','status':'completed','call_id':'call_2','name':'apply_patch','input':'{\u0022patch\u0022:1}'},
             {'id':'fc_r1_2','type':'function_call','status':'completed','arguments':'{\u0022id\u0022:7}','call_id':'call_3','name':'get_customer','namespace':'crm'}]
            """), Parse(json).GetProperty("output").GetRawText());
        var result = ModelReaderWriter.Read<ResponseResult>(BinaryData.FromString(json))!;
        var call = Assert.IsType<CustomToolCallItem>(result.OutputItems[0]);
        Assert.Equal(("call_1", "apply_patch", "*** Begin Patch\n+héllo\n*** End Patch"), (call.CallId, call.ToolName, call.Input));
    }

    /// <summary>
    /// Thinking another provider signed goes back with its signature in encrypted_content, tagged with its
    /// maker, for the client to send back; a signature of unknown make (none here) is left out.
    /// </summary>
    [Theory]
    [InlineData(nameof(ThinkingSigner.Anthropic), "relay:anthropic:EqQB")]
    [InlineData(nameof(ThinkingSigner.Gemini), "relay:gemini:EqQB")]
    public void WriteResponse_SignedThinking_EncryptedContentNamesItsMaker(string signedBy, string encryptedContent)
    {
        var thinking = new ThinkingPart("Hmm.", "EqQB", Enum.Parse<ThinkingSigner>(signedBy));

        var json = WriteResponse(new ChatResponse { Id = "r", Model = "m", Content = [thinking, new TextPart("x")] });

        Assert.Equal(
            Compact($"{{'id':'rs_r_0','type':'reasoning','summary':[{{'type':'summary_text','text':'Hmm.'}}],'encrypted_content':'{encryptedContent}'}}"),
            Parse(json).GetProperty("output")[0].GetRawText());
        var item = Assert.IsType<ReasoningResponseItem>(ModelReaderWriter.Read<ResponseResult>(BinaryData.FromString(json))!.OutputItems[0]);
        Assert.Equal(encryptedContent, item.EncryptedContent);
    }
}
