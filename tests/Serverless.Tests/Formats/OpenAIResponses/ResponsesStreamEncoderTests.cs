#pragma warning disable OPENAI001 // The SDK's Responses types are experimental.
using System.Buffers;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI.Responses;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.OpenAIResponses;
using Serverless.Tests.Formats.Gemini;
using Xunit;
using static Serverless.Tests.Formats.OpenAIResponses.ResponsesTestJson;

namespace Serverless.Tests.Formats.OpenAIResponses;

public sealed class ResponsesStreamEncoderTests
{
    private static readonly ChatRequest Request = new() { Model = "gpt-4.1", Messages = [], Temperature = 0.7, Stream = true };

    private static readonly StreamEvent[] ToolStream =
    [
        new MessageStarted("resp_abc", "gpt-4.1"),
        new ThinkingStarted(0),
        new ThinkingDelta(0, "Need weather."),
        new ThinkingSignature(0, "sig"),
        new BlockStopped(0),
        new TextStarted(1),
        new TextDelta(1, "Checking."),
        new BlockStopped(1),
        new ToolCallStarted(2, "call_1", "get_weather"),
        new ToolArgumentsDelta(2, "{\"city\":"),
        new ToolArgumentsDelta(2, "\"Paris\"}"),
        new BlockStopped(2),
        new MessageFinished(StopReason.ToolUse),
        new UsageReported(new UsageReport { InputTokens = 30, CacheReadTokens = 70, OutputTokens = 9, ReasoningTokens = 4 }),
        MessageStopped.Instance,
    ];

    /// <summary>A request declaring Codex's apply_patch as a custom tool.</summary>
    private static readonly ChatRequest CustomToolRequest = Request with
    {
        Tools = [new ToolDefinition("apply_patch", "Edit files.", OpenAICustomTool.InputSchema()) { IsCustom = true }],
    };

    /// <summary>A call to it, its arguments object split inside the string they hold.</summary>
    private static readonly StreamEvent[] CustomToolStream =
    [
        new MessageStarted("resp_abc", "gpt-4.1"),
        new ToolCallStarted(0, "call_1", "apply_patch"),
        new ToolArgumentsDelta(0, "{\"input\":\"*** Begin Patch\\n+h"),
        new ToolArgumentsDelta(0, "\u00e9llo\\n*** End Patch\"}"),
        new BlockStopped(0),
        new MessageFinished(StopReason.ToolUse),
        MessageStopped.Instance,
    ];

    private static string Encode(IEnumerable<StreamEvent> events, ChatRequest? request = null, RelayError? error = null)
    {
        var format = new OpenAIResponsesFormat(FixedTimeProvider.At1741290958);
        var encoder = format.CreateStreamEncoder(request ?? Request);
        var output = new ArrayBufferWriter<byte>();
        foreach (var streamEvent in events)
        {
            encoder.Write(streamEvent, output);
        }

        if (error is not null)
        {
            encoder.WriteError(error, output);
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static List<(string Event, string Data)> Frames(string sse)
    {
        var frames = new List<(string, string)>();
        foreach (var frame in sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = frame.Split('\n');
            Assert.Equal(2, lines.Length);
            Assert.StartsWith("event: ", lines[0], StringComparison.Ordinal);
            Assert.StartsWith("data: ", lines[1], StringComparison.Ordinal);
            frames.Add((lines[0]["event: ".Length..], lines[1]["data: ".Length..]));
        }

        return frames;
    }

    private static string Frame(string type, int sequence, string fields) =>
        $"event: {type}\ndata: {Compact($"{{'type':'{type}','sequence_number':{sequence}{(fields.Length > 0 ? "," : string.Empty)}{fields}}}")}\n\n";

    /// <summary>The response object the encoder echoes for <see cref="Request"/>.</summary>
    private static string ResponseObject(string status, string output, string usage, string incomplete = "null") => $$$"""
        'response':{'id':'resp_abc','object':'response','created_at':1741290958,'status':'{{{status}}}','background':false,'error':null,'incomplete_details':{{{incomplete}}},
         'instructions':null,'max_output_tokens':null,'model':'gpt-4.1','output':[{{{output}}}],'parallel_tool_calls':true,'previous_response_id':null,
         'reasoning':{'effort':null,'summary':null},'store':false,'temperature':0.7,'text':{'format':{'type':'text'}},'tool_choice':'auto','tools':[],
         'top_p':null,'truncation':'disabled','usage':{{{usage}}},'user':null,'metadata':{}}
        """;

    [Fact]
    public void Write_TextStream_WritesExactEventSequence()
    {
        var sse = Encode(
        [
            new MessageStarted("resp_abc", "gpt-4.1"),
            new TextStarted(0),
            new TextDelta(0, "Hel"),
            new TextDelta(0, "lo"),
            new BlockStopped(0),
            new MessageFinished(StopReason.EndTurn),
            new UsageReported(new UsageReport { InputTokens = 10, OutputTokens = 2 }),
            MessageStopped.Instance,
        ]);

        const string Item = "'id':'msg_abc_0','type':'message'";
        const string Part = "'item_id':'msg_abc_0','output_index':0,'content_index':0";
        const string Hello = "{'type':'output_text','text':'Hello','annotations':[],'logprobs':[]}";
        Assert.Equal(
            Frame("response.created", 0, ResponseObject("in_progress", string.Empty, "null"))
            + Frame("response.in_progress", 1, ResponseObject("in_progress", string.Empty, "null"))
            + Frame("response.output_item.added", 2, $"'output_index':0,'item':{{{Item},'status':'in_progress','role':'assistant','content':[]}}")
            + Frame("response.content_part.added", 3, $"{Part},'part':{{'type':'output_text','text':'','annotations':[],'logprobs':[]}}")
            + Frame("response.output_text.delta", 4, $"{Part},'delta':'Hel','logprobs':[]")
            + Frame("response.output_text.delta", 5, $"{Part},'delta':'lo','logprobs':[]")
            + Frame("response.output_text.done", 6, $"{Part},'text':'Hello','logprobs':[]")
            + Frame("response.content_part.done", 7, $"{Part},'part':{Hello}")
            + Frame("response.output_item.done", 8, $"'output_index':0,'item':{{{Item},'status':'completed','role':'assistant','content':[{Hello}]}}")
            + Frame("response.completed", 9, ResponseObject(
                "completed",
                $"{{{Item},'status':'completed','role':'assistant','content':[{Hello}]}}",
                "{'input_tokens':10,'input_tokens_details':{'cached_tokens':0},'output_tokens':2,'output_tokens_details':{'reasoning_tokens':0},'total_tokens':12}")),
            sse);
    }

    [Fact]
    public void Write_ThinkingTextAndToolCall_WritesExactItemEvents()
    {
        var frames = Frames(Encode(ToolStream));

        Assert.Equal(
            [
                "response.created", "response.in_progress",
                "response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                "response.output_item.done", "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                "response.function_call_arguments.done", "response.output_item.done", "response.completed",
            ],
            frames.Select(f => f.Event));

        const string Summary = "'item_id':'rs_abc_0','output_index':0,'summary_index':0";
        Assert.Equal(Compact("{'type':'response.output_item.added','sequence_number':2,'output_index':0,'item':{'id':'rs_abc_0','type':'reasoning','summary':[]}}"), frames[2].Data);
        Assert.Equal(Compact($"{{'type':'response.reasoning_summary_part.added','sequence_number':3,{Summary},'part':{{'type':'summary_text','text':''}}}}"), frames[3].Data);
        Assert.Equal(Compact($"{{'type':'response.reasoning_summary_text.delta','sequence_number':4,{Summary},'delta':'Need weather.'}}"), frames[4].Data);
        Assert.Equal(Compact($"{{'type':'response.reasoning_summary_text.done','sequence_number':5,{Summary},'text':'Need weather.'}}"), frames[5].Data);
        Assert.Equal(Compact($"{{'type':'response.reasoning_summary_part.done','sequence_number':6,{Summary},'part':{{'type':'summary_text','text':'Need weather.'}}}}"), frames[6].Data);
        Assert.Equal(Compact("{'type':'response.output_item.done','sequence_number':7,'output_index':0,'item':{'id':'rs_abc_0','type':'reasoning','summary':[{'type':'summary_text','text':'Need weather.'}]}}"), frames[7].Data);

        // The message item closes when the tool call starts, then the call is output item 2.
        Assert.Equal(Compact("{'type':'response.output_item.done','sequence_number':13,'output_index':1,'item':{'id':'msg_abc_1','type':'message','status':'completed','role':'assistant','content':[{'type':'output_text','text':'Checking.','annotations':[],'logprobs':[]}]}}"), frames[13].Data);
        Assert.Equal(Compact("{'type':'response.output_item.added','sequence_number':14,'output_index':2,'item':{'id':'fc_abc_2','type':'function_call','status':'in_progress','arguments':'','call_id':'call_1','name':'get_weather'}}"), frames[14].Data);
        Assert.Equal(Compact("{'type':'response.function_call_arguments.delta','sequence_number':15,'item_id':'fc_abc_2','output_index':2,'delta':'{\\u0022city\\u0022:'}"), frames[15].Data);
        Assert.Equal(Compact("{'type':'response.function_call_arguments.done','sequence_number':17,'item_id':'fc_abc_2','output_index':2,'name':'get_weather','arguments':'{\\u0022city\\u0022:\\u0022Paris\\u0022}'}"), frames[17].Data);
        Assert.Equal(Compact("{'type':'response.output_item.done','sequence_number':18,'output_index':2,'item':{'id':'fc_abc_2','type':'function_call','status':'completed','arguments':'{\\u0022city\\u0022:\\u0022Paris\\u0022}','call_id':'call_1','name':'get_weather'}}"), frames[18].Data);
    }

    [Theory]
    [InlineData(nameof(StopReason.ToolUse))]
    [InlineData(nameof(StopReason.MaxTokens))]
    public void Write_CompletedEvent_EqualsNonStreamedResponseWithEcho(string reason)
    {
        var stopReason = Enum.Parse<StopReason>(reason);
        var stream = ToolStream.Select(e => e is MessageFinished ? new MessageFinished(stopReason) : e);
        var completed = Parse(Frames(Encode(stream))[^1].Data).GetProperty("response");
        var nonStreamed = Parse(Write(writer => OpenAIResponsesFormat.Instance.WriteResponse(
            new ChatResponse
            {
                Id = "resp_abc",
                Model = "gpt-4.1",
                Created = 1741290958,
                Content = [new ThinkingPart("Need weather."), new TextPart("Checking."), new ToolCallPart("call_1", "get_weather", "{\"city\":\"Paris\"}")],
                StopReason = stopReason,
                Usage = new Usage { InputTokens = 30, CacheReadTokens = 70, OutputTokens = 9, ReasoningTokens = 4 },
            },
            Request,
            writer)));

        // The same object, field for field, but for created_at, which the encoder stamps itself.
        Assert.Equal(0.7, completed.GetProperty("temperature").GetDouble());
        foreach (var field in nonStreamed.EnumerateObject().Where(f => f.Name != "created_at"))
        {
            Assert.Equal(field.Value.GetRawText(), completed.GetProperty(field.Name).GetRawText());
        }
    }

    [Fact]
    public void Write_EveryEvent_OfficialSdkReadsIt()
    {
        var frames = Frames(Encode(ToolStream));

        var updates = frames.Select(f => ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(f.Data))!).ToList();

        Assert.Equal(Enumerable.Range(0, frames.Count), updates.Select(u => u.SequenceNumber));
        Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]);
        Assert.IsType<StreamingResponseInProgressUpdate>(updates[1]);
        Assert.IsType<ReasoningResponseItem>(Assert.IsType<StreamingResponseOutputItemAddedUpdate>(updates[2]).Item);
        Assert.Equal("Need weather.", Assert.IsType<StreamingResponseReasoningSummaryTextDeltaUpdate>(updates[4]).Delta);
        Assert.IsType<StreamingResponseReasoningSummaryTextDoneUpdate>(updates[5]);
        Assert.IsType<StreamingResponseReasoningSummaryPartDoneUpdate>(updates[6]);
        Assert.IsType<StreamingResponseContentPartAddedUpdate>(updates[9]);
        var textDelta = Assert.IsType<StreamingResponseOutputTextDeltaUpdate>(updates[10]);
        Assert.Equal(("msg_abc_1", 1, 0, "Checking."), (textDelta.ItemId, textDelta.OutputIndex, textDelta.ContentIndex, textDelta.Delta));
        Assert.Equal("Checking.", Assert.IsType<StreamingResponseOutputTextDoneUpdate>(updates[11]).Text);
        Assert.Equal("Checking.", Assert.IsType<StreamingResponseContentPartDoneUpdate>(updates[12]).Part.Text);
        var message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.IsType<StreamingResponseOutputItemDoneUpdate>(updates[13]).Item);
        Assert.Equal("Checking.", Assert.Single(message.Content).Text);
        var added = Assert.IsType<FunctionCallResponseItem>(Assert.IsType<StreamingResponseOutputItemAddedUpdate>(updates[14]).Item);
        Assert.Equal(("call_1", "get_weather"), (added.CallId, added.FunctionName));
        Assert.Equal("{\"city\":", Assert.IsType<StreamingResponseFunctionCallArgumentsDeltaUpdate>(updates[15]).Delta.ToString());
        var argumentsDone = Assert.IsType<StreamingResponseFunctionCallArgumentsDoneUpdate>(updates[17]);
        Assert.Equal(("get_weather", "{\"city\":\"Paris\"}"), (argumentsDone.FunctionName, argumentsDone.FunctionArguments.ToString()));
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response;
        Assert.Equal(ResponseStatus.Completed, completed.Status);
        Assert.Equal(3, completed.OutputItems.Count);
        Assert.Equal((100, 70, 9, 4), (completed.Usage.InputTokenCount, completed.Usage.InputTokenDetails.CachedTokenCount, completed.Usage.OutputTokenCount, completed.Usage.OutputTokenDetails.ReasoningTokenCount));
    }

    [Theory]
    [InlineData(nameof(StopReason.MaxTokens), "max_output_tokens")]
    [InlineData(nameof(StopReason.ContentFilter), "content_filter")]
    public void Write_IncompleteAnswer_EndsWithResponseIncomplete(string reason, string incompleteReason)
    {
        var frames = Frames(Encode([new MessageStarted("resp_abc", "gpt-4.1"), new TextStarted(0), new TextDelta(0, "Cut"), new MessageFinished(Enum.Parse<StopReason>(reason)), MessageStopped.Instance]));

        // The open text block is closed before the terminal event.
        Assert.Equal(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"], frames.Skip(5).Select(f => f.Event));
        var update = Assert.IsType<StreamingResponseIncompleteUpdate>(ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(frames[^1].Data)));
        Assert.Equal(ResponseStatus.Incomplete, update.Response.Status);
        Assert.Equal(incompleteReason, Parse(frames[^1].Data).GetProperty("response").GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal("Cut", update.Response.GetOutputText());
    }

    /// <summary>
    /// Streams cut off by max tokens, each as an upstream ends them: Anthropic stops the block before it says why the
    /// message stopped, Gemini and Chat Completions may leave it open.
    /// </summary>
    private static readonly Dictionary<string, StreamEvent[]> CutOff = new()
    {
        ["text, block stopped"] =
            [
                new MessageStarted("resp_abc", "gpt-4.1"), new ToolCallStarted(0, "call_1", "f"), new ToolArgumentsDelta(0, "{}"), new BlockStopped(0),
                new TextStarted(1), new TextDelta(1, "Cut"), new BlockStopped(1), new MessageFinished(StopReason.MaxTokens), MessageStopped.Instance,
            ],
        ["text, block left open"] =
            [
                new MessageStarted("resp_abc", "gpt-4.1"), new ToolCallStarted(0, "call_1", "f"), new ToolArgumentsDelta(0, "{}"), new BlockStopped(0),
                new TextStarted(1), new TextDelta(1, "Cut"), new MessageFinished(StopReason.MaxTokens), MessageStopped.Instance,
            ],
        ["call, block stopped"] =
            [
                new MessageStarted("resp_abc", "gpt-4.1"), new TextStarted(0), new TextDelta(0, "Checking."), new BlockStopped(0),
                new ToolCallStarted(1, "call_1", "f"), new ToolArgumentsDelta(1, "{\"city\":"), new BlockStopped(1), new MessageFinished(StopReason.MaxTokens), MessageStopped.Instance,
            ],
        ["call, block left open"] =
            [
                new MessageStarted("resp_abc", "gpt-4.1"), new TextStarted(0), new TextDelta(0, "Checking."), new BlockStopped(0),
                new ToolCallStarted(1, "call_1", "f"), new ToolArgumentsDelta(1, "{\"city\":"), new MessageFinished(StopReason.MaxTokens), MessageStopped.Instance,
            ],
    };

    [Theory]
    [InlineData("text, block stopped")]
    [InlineData("text, block left open")]
    [InlineData("call, block stopped")]
    [InlineData("call, block left open")]
    public void Write_AnswerCutOff_LastItemIncompleteInItsDoneAndInTheFinalObject(string stream)
    {
        var frames = Frames(Encode(CutOff[stream]));

        var done = frames.Where(f => f.Event == "response.output_item.done").Select(f => Parse(f.Data).GetProperty("item").GetProperty("status").GetString());
        Assert.Equal(["completed", "incomplete"], done);
        var final = Parse(frames[^1].Data).GetProperty("response");
        Assert.Equal(["completed", "incomplete"], final.GetProperty("output").EnumerateArray().Select(item => item.GetProperty("status").GetString()));
        Assert.Equal("response.output_item.done", frames[^2].Event);
        var update = Assert.IsType<StreamingResponseIncompleteUpdate>(ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(frames[^1].Data)));
        var last = update.Response.OutputItems[^1];
        Assert.True(last is FunctionCallResponseItem { Status: FunctionCallStatus.Incomplete } or MessageResponseItem { Status: MessageStatus.Incomplete }, stream);
    }

    /// <summary>
    /// Gemini's thought signature on a function call arrives as a thinking block with no text: its reasoning item has
    /// an empty summary, and no summary part is opened or closed for it; the signature is its encrypted_content.
    /// </summary>
    [Fact]
    public void Write_GeminiCallWithThoughtSignature_ReasoningItemWithoutSummaryParts()
    {
        var gemini = GeminiTestJson.Decode(
            """{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"}],"role":"model"},"finishReason":"STOP","index":0}],"modelVersion":"gemini-3-pro-preview","responseId":"abc"}""");

        var frames = Frames(Encode(gemini));

        Assert.Equal(
            [
                "response.created", "response.in_progress", "response.output_item.added", "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
                "response.completed",
            ],
            frames.Select(f => f.Event));
        const string Reasoning = "{'id':'rs_abc_0','type':'reasoning','summary':[],'encrypted_content':'relay:gemini:c2ln'}";
        Assert.Equal(Compact($"{{'type':'response.output_item.done','sequence_number':3,'output_index':0,'item':{Reasoning}}}"), frames[3].Data);
        Assert.Equal(Compact(Reasoning), Parse(frames[^1].Data).GetProperty("response").GetProperty("output")[0].GetRawText());
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(frames[^1].Data))).Response;
        Assert.Empty(Assert.IsType<ReasoningResponseItem>(completed.OutputItems[0]).SummaryParts);
    }

    [Fact]
    public void Write_InterleavedParallelToolCalls_RouteDeltasToTheirItems()
    {
        var frames = Frames(Encode(
        [
            new MessageStarted("resp_abc", "gpt-4.1"),
            new ToolCallStarted(0, "call_a", "f"),
            new ToolCallStarted(1, "call_b", "g"),
            new ToolArgumentsDelta(1, "{\"b\":1}"),
            new ToolArgumentsDelta(0, "{\"a\":1}"),
            new MessageFinished(StopReason.ToolUse),
            MessageStopped.Instance,
        ]));

        var completed = ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(frames[^1].Data)) as StreamingResponseCompletedUpdate;
        var calls = completed!.Response.OutputItems.Cast<FunctionCallResponseItem>().ToList();
        Assert.Equal(["call_a:f:{\"a\":1}", "call_b:g:{\"b\":1}"], calls.Select(c => $"{c.CallId}:{c.FunctionName}:{c.FunctionArguments}"));
        Assert.Equal(2, frames.Count(f => f.Event == "response.output_item.done"));
    }

    [Fact]
    public void Write_ConsecutiveTextBlocks_ShareOneMessageItem()
    {
        var frames = Frames(Encode(
        [
            new MessageStarted("resp_abc", "gpt-4.1"),
            new TextStarted(0), new TextDelta(0, "a"), new BlockStopped(0),
            new TextStarted(1), new TextDelta(1, "b"), new BlockStopped(1),
            new MessageFinished(StopReason.EndTurn), MessageStopped.Instance,
        ]));

        Assert.Equal(1, frames.Count(f => f.Event == "response.output_item.added"));
        var secondPart = Parse(frames.Where(f => f.Event == "response.content_part.added").Last().Data);
        Assert.Equal((0, 1), (secondPart.GetProperty("output_index").GetInt32(), secondPart.GetProperty("content_index").GetInt32()));
    }

    /// <summary>A stream whose upstream gave no id (OpenAI-compatible and Anthropic-compatible servers may not): a fresh one per stream, used by every event.</summary>
    [Fact]
    public void Write_UpstreamGaveNoId_FreshResponseAndItemIdsPerStream()
    {
        StreamEvent[] events =
        [
            new MessageStarted("", "m"),
            new TextStarted(0), new TextDelta(0, "a"), new BlockStopped(0),
            new MessageFinished(StopReason.EndTurn), MessageStopped.Instance,
        ];

        var first = Frames(Encode(events));
        var second = Frames(Encode(events));

        string ResponseIdOf(List<(string Event, string Data)> frames, string type) =>
            Parse(frames.Single(f => f.Event == type).Data).GetProperty("response").GetProperty("id").GetString()!;
        var id = ResponseIdOf(first, "response.created");
        Assert.Matches("^resp_[0-9a-f]{32}$", id);
        Assert.Equal(id, ResponseIdOf(first, "response.completed"));
        Assert.NotEqual(id, ResponseIdOf(second, "response.created"));
        var item = Parse(first.Single(f => f.Event == "response.output_item.done").Data).GetProperty("item");
        Assert.Equal($"msg_{id["resp_".Length..]}_0", item.GetProperty("id").GetString());
    }

    [Fact]
    public void Write_RequestSettings_AreEchoedInResponseObject()
    {
        var request = WithEchoedSettings;

        var created = Parse(Frames(Encode([new MessageStarted("chatcmpl-9", "gpt-4.1")], request))[0].Data).GetProperty("response");

        Assert.Equal("resp_chatcmpl-9", created.GetProperty("id").GetString());
        Assert.Equal("Be brief.", created.GetProperty("instructions").GetString());
        Assert.Equal(50, created.GetProperty("max_output_tokens").GetInt32());
        Assert.False(created.GetProperty("parallel_tool_calls").GetBoolean());
        Assert.Equal("required", created.GetProperty("tool_choice").GetString());
        Assert.Equal(Compact("[{'type':'function','name':'f','description':'Does f','parameters':{'type':'object'},'strict':false}]"), created.GetProperty("tools").GetRawText());
        Assert.Equal(0.25, created.GetProperty("temperature").GetDouble());
        Assert.Equal(0.5, created.GetProperty("top_p").GetDouble());
        Assert.Equal("u1", created.GetProperty("user").GetString());
        var update = Assert.IsType<StreamingResponseCreatedUpdate>(ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(Frames(Encode([new MessageStarted("x", "m")], request))[0].Data)));
        Assert.Equal(ResponseStatus.InProgress, update.Response.Status);
    }

    /// <summary>
    /// A stream that fails ends as OpenAI ends one: the error event (which the SDKs raise), then response.failed with the
    /// response so far and its error (which Codex reads), numbered on; nothing after.
    /// </summary>
    [Fact]
    public void WriteError_MidStream_ErrorThenResponseFailedThenNothingMore()
    {
        var format = new OpenAIResponsesFormat(FixedTimeProvider.At1741290958);
        var encoder = format.CreateStreamEncoder(Request);
        var output = new ArrayBufferWriter<byte>();
        encoder.Write(new MessageStarted("resp_abc", "gpt-4.1"), output);
        encoder.Write(new TextStarted(0), output);
        encoder.Write(new TextDelta(0, "Hel"), output);
        output.ResetWrittenCount();

        encoder.WriteError(new RelayError(ErrorKind.RateLimited, "Too many requests.", "model"), output);
        encoder.Write(MessageStopped.Instance, output);

        var sse = Encoding.UTF8.GetString(output.WrittenSpan);
        const string Message = "{'id':'msg_abc_0','type':'message','status':'in_progress','role':'assistant','content':[{'type':'output_text','text':'Hel','annotations':[],'logprobs':[]}]}";
        Assert.Equal(
            "event: error\ndata: " + Compact("""
                {'type':'error','sequence_number':5,'code':'rate_limit_exceeded','message':'Too many requests.','param':'model',
                 'error':{'message':'Too many requests.','type':'rate_limit_error','param':'model','code':'rate_limit_exceeded'}}
                """) + "\n\n"
            + Frame("response.failed", 6, ResponseObject("failed", Message, "{'input_tokens':0,'input_tokens_details':{'cached_tokens':0},'output_tokens':0,'output_tokens_details':{'reasoning_tokens':0},'total_tokens':0}").Replace("'error':null", "'error':{'code':'rate_limit_exceeded','message':'Too many requests.'}", StringComparison.Ordinal)),
            sse);
        var frames = Frames(sse);
        var error = Assert.IsType<StreamingResponseErrorUpdate>(ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(frames[0].Data)));
        Assert.Equal(("rate_limit_exceeded", "Too many requests.", "model"), (error.Code, error.Message, error.Param));
        var failed = Assert.IsType<StreamingResponseFailedUpdate>(ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(frames[1].Data)));
        Assert.Equal((ResponseStatus.Failed, "Too many requests."), (failed.Response.Status, failed.Response.Error.Message));
    }

    /// <summary>Codex stops on these codes in response.failed instead of retrying (codex-rs codex-api/src/sse/responses.rs).</summary>
    [Theory]
    [InlineData(nameof(ErrorKind.InvalidRequest), "context_length_exceeded")]
    [InlineData(nameof(ErrorKind.RateLimited), "insufficient_quota")]
    public void WriteError_UpstreamCode_ResponseFailedCarriesIt(string kind, string code)
    {
        var frames = Frames(Encode([new MessageStarted("resp_abc", "gpt-4.1")], error: new RelayError(Enum.Parse<ErrorKind>(kind), "No room.") { Code = code }));

        Assert.Equal(["response.created", "response.in_progress", "error", "response.failed"], frames.Select(f => f.Event));
        var response = Parse(frames[3].Data).GetProperty("response");
        Assert.Equal(("failed", code, "No room."), (response.GetProperty("status").GetString(), response.GetProperty("error").GetProperty("code").GetString(), response.GetProperty("error").GetProperty("message").GetString()));
    }

    /// <summary>A wait the relay knows reaches Codex in the words it parses ("try again in N s") for rate_limit_exceeded.</summary>
    [Theory]
    [InlineData("Rate limited.", "Rate limited. Please try again in 1.5s.")]
    [InlineData("Rate limited. Please try again in 20s.", "Rate limited. Please try again in 20s.")]
    public void WriteError_RateLimitedWithWait_ResponseFailedSaysWhenToTryAgain(string message, string expected)
    {
        var error = new RelayError(ErrorKind.RateLimited, message) { RetryAfter = TimeSpan.FromMilliseconds(1500) };

        var frames = Frames(Encode([new MessageStarted("resp_abc", "gpt-4.1")], error: error));

        Assert.Equal(message, Parse(frames[2].Data).GetProperty("message").GetString());
        Assert.Equal(expected, Parse(frames[3].Data).GetProperty("response").GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public void WriteError_WithoutCode_UsesErrorTypeAsCode()
    {
        var frames = Frames(Encode([], error: new RelayError(ErrorKind.Upstream, "Upstream broke.")));

        var data = Parse(frames[0].Data);
        Assert.Equal("server_error", data.GetProperty("code").GetString());
        Assert.Equal(0, data.GetProperty("sequence_number").GetInt32());

        // Failed before any upstream event: the failed response still has an id of its own, a time and the model.
        var failed = Parse(frames[1].Data);
        Assert.Equal(1, failed.GetProperty("sequence_number").GetInt32());
        var response = failed.GetProperty("response");
        Assert.Matches("^resp_[0-9a-f]{32}$", response.GetProperty("id").GetString());
        Assert.Equal((1741290958, "gpt-4.1", "server_error"), (response.GetProperty("created_at").GetInt64(), response.GetProperty("model").GetString(), response.GetProperty("error").GetProperty("code").GetString()));
    }

    /// <summary>A passed-through stream that breaks: its failure names the upstream's response and numbers on from its last event.</summary>
    [Fact]
    public void CreateStreamEncoderAfter_PassedThroughStream_ResponseFailedNamesTheUpstreamsResponse()
    {
        var format = new OpenAIResponsesFormat(FixedTimeProvider.At1741290958);
        var decoder = format.CreateStreamDecoder();
        decoder.Decode(new Serverless.Relay.Formats.Sse.SseEvent("response.created", """{"type":"response.created","sequence_number":0,"response":{"id":"resp_up","model":"gpt-5"}}"""), []);
        decoder.Decode(new Serverless.Relay.Formats.Sse.SseEvent("response.in_progress", """{"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_up","model":"gpt-5"}}"""), []);
        var output = new ArrayBufferWriter<byte>();

        format.CreateStreamEncoderAfter(decoder, Request).WriteError(new RelayError(ErrorKind.Upstream, "broke off"), output);

        var frames = Frames(Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.Equal(2, Parse(frames[0].Data).GetProperty("sequence_number").GetInt32());
        var failed = Parse(frames[1].Data);
        Assert.Equal(3, failed.GetProperty("sequence_number").GetInt32());
        Assert.Equal(("resp_up", "gpt-5"), (failed.GetProperty("response").GetProperty("id").GetString(), failed.GetProperty("response").GetProperty("model").GetString()));
    }

    /// <summary>
    /// A call to a tool the client declared custom streams as a custom_tool_call: its input in one delta and its done
    /// when the arguments end (the upstream's JSON fragments are not cut into the string they hold).
    /// </summary>
    [Fact]
    public void Write_CallToCustomTool_StreamsTheInputAsCustomToolCall()
    {
        var frames = Frames(Encode(CustomToolStream, CustomToolRequest));

        Assert.Equal(
            [
                "response.created", "response.in_progress", "response.output_item.added", "response.custom_tool_call_input.delta",
                "response.custom_tool_call_input.done", "response.output_item.done", "response.completed",
            ],
            frames.Select(f => f.Event));
        const string Input = "*** Begin Patch\\n+héllo\\n*** End Patch";
        const string Item = "'id':'ctc_abc_0','type':'custom_tool_call'";
        Assert.Equal(Compact($"{{'type':'response.output_item.added','sequence_number':2,'output_index':0,'item':{{{Item},'status':'in_progress','call_id':'call_1','name':'apply_patch','input':''}}}}"), frames[2].Data);
        Assert.Equal(Compact($"{{'type':'response.custom_tool_call_input.delta','sequence_number':3,'item_id':'ctc_abc_0','output_index':0,'delta':'{Input}'}}"), frames[3].Data);
        Assert.Equal(Compact($"{{'type':'response.custom_tool_call_input.done','sequence_number':4,'item_id':'ctc_abc_0','output_index':0,'input':'{Input}'}}"), frames[4].Data);
        Assert.Equal(Compact($"{{'type':'response.output_item.done','sequence_number':5,'output_index':0,'item':{{{Item},'status':'completed','call_id':'call_1','name':'apply_patch','input':'{Input}'}}}}"), frames[5].Data);

        var updates = frames.Select(f => ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(f.Data))!).ToList();
        Assert.IsType<CustomToolCallItem>(Assert.IsType<StreamingResponseOutputItemAddedUpdate>(updates[2]).Item);
        Assert.Equal("*** Begin Patch\n+héllo\n*** End Patch", Assert.IsType<StreamingResponseCustomToolCallInputDeltaUpdate>(updates[3]).InputDelta);
        Assert.Equal("*** Begin Patch\n+héllo\n*** End Patch", Assert.IsType<StreamingResponseCustomToolCallInputDoneUpdate>(updates[4]).Input);
        Assert.Equal("*** Begin Patch\n+héllo\n*** End Patch", Assert.IsType<CustomToolCallItem>(Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response.OutputItems[0]).Input);
    }

    [Fact]
    public void Write_CallToCustomTool_CompletedOutputEqualsNonStreamed()
    {
        var completed = Parse(Frames(Encode(CustomToolStream, CustomToolRequest))[^1].Data).GetProperty("response");
        var nonStreamed = Parse(Write(writer => OpenAIResponsesFormat.Instance.WriteResponse(
            new ChatResponse
            {
                Id = "resp_abc",
                Model = "gpt-4.1",
                Content = [new ToolCallPart("call_1", "apply_patch", "{\"input\":\"*** Begin Patch\\n+héllo\\n*** End Patch\"}")],
                StopReason = StopReason.ToolUse,
            },
            CustomToolRequest,
            writer)));

        Assert.Equal(nonStreamed.GetProperty("output").GetRawText(), completed.GetProperty("output").GetRawText());
    }

    [Fact]
    public void Write_CallToNamespacedFunction_ItemsNameTheNamespace()
    {
        var request = Request with { Tools = [new ToolDefinition("get_customer", null, ToolDefinition.NoParameters()) { Namespace = "crm" }] };

        var frames = Frames(Encode([new MessageStarted("resp_abc", "gpt-4.1"), new ToolCallStarted(0, "call_1", "get_customer"), new ToolArgumentsDelta(0, "{}"), new BlockStopped(0), new MessageFinished(StopReason.ToolUse), MessageStopped.Instance], request));

        Assert.Equal("crm", Parse(frames[2].Data).GetProperty("item").GetProperty("namespace").GetString());
        Assert.Equal("crm", Parse(frames[^1].Data).GetProperty("response").GetProperty("output")[0].GetProperty("namespace").GetString());
    }

    /// <summary>Claude's signature, tagged with its maker, in the reasoning item's encrypted_content once the item is done.</summary>
    [Fact]
    public void Write_SignedThinking_ReasoningItemCarriesTheSignature()
    {
        var stream = ToolStream.Select(e => e is ThinkingSignature signature ? signature with { SignedBy = ThinkingSigner.Anthropic } : e);

        var frames = Frames(Encode(stream));

        Assert.Equal(Compact("{'type':'response.output_item.added','sequence_number':2,'output_index':0,'item':{'id':'rs_abc_0','type':'reasoning','summary':[]}}"), frames[2].Data);
        Assert.Equal(
            Compact("{'type':'response.output_item.done','sequence_number':7,'output_index':0,'item':{'id':'rs_abc_0','type':'reasoning','summary':[{'type':'summary_text','text':'Need weather.'}],'encrypted_content':'relay:anthropic:sig'}}"),
            frames[7].Data);
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(ModelReaderWriter.Read<StreamingResponseUpdate>(BinaryData.FromString(frames[^1].Data))).Response;
        Assert.Equal("relay:anthropic:sig", Assert.IsType<ReasoningResponseItem>(completed.OutputItems[0]).EncryptedContent);
    }
}
