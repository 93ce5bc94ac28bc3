using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>
/// Turns canonical events into the Responses API's semantic SSE events for one client stream.
/// Text blocks become <c>output_text</c> parts of a message item (consecutive text blocks share one message item),
/// tool calls become <c>function_call</c> items (<c>custom_tool_call</c> for a tool the client declared custom), and
/// thinking becomes a <c>reasoning</c> item with one summary part (none for thinking without text).
/// </summary>
/// <remarks>Event catalogue: https://platform.openai.com/docs/api-reference/responses-streaming</remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Design",
    "CA1001:Types that own disposable fields should be disposable",
    Justification = "The reused Utf8JsonWriter writes to an ArrayBufferWriter and holds no unmanaged resource; IStreamEncoder has no end-of-life hook.")]
internal sealed class ResponsesStreamEncoder : IStreamEncoder
{
    private readonly RequestEcho _echo;
    private readonly TimeProvider _timeProvider;
    private readonly UsageAccumulator _usage = new();
    private readonly List<OutputItem> _items = [];
    private readonly Dictionary<int, Block> _blocks = [];

    // One reusable buffer and writer per stream: each frame is serialised here, then framed by SseWriter.
    private readonly ArrayBufferWriter<byte> _frame = new(512);
    private readonly Utf8JsonWriter _json;

    private string _responseId = ResponsesWire.ResponsePrefix;
    private string _model = string.Empty;
    private long _createdAt;
    private int _sequence;
    private OutputItem? _openMessage;
    private StopReason? _stopReason;
    private bool _ended;

    /// <param name="firstSequenceNumber">Where numbering starts: 0 for a new stream, past the upstream's last event when continuing one.</param>
    /// <param name="continued">The response an upstream's stream started, when continuing it: its failure names that response.</param>
    public ResponsesStreamEncoder(ChatRequest request, TimeProvider timeProvider, int firstSequenceNumber = 0, MessageStarted? continued = null)
    {
        _sequence = firstSequenceNumber;
        _model = request.Model;
        if (continued is not null)
        {
            _responseId = ResponsesWire.ResponseId(continued.Id);
            _model = continued.Model.Length > 0 ? continued.Model : request.Model;
            _createdAt = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        }

        _echo = RequestEcho.From(request);
        _timeProvider = timeProvider;
        _json = new Utf8JsonWriter(_frame, SseWriter.JsonWriterOptions);
    }

    private enum ItemKind
    {
        Message,
        FunctionCall,
        CustomToolCall,
        Reasoning,
    }

    public void Write(StreamEvent streamEvent, IBufferWriter<byte> output)
    {
        if (_ended)
        {
            return;
        }

        switch (streamEvent)
        {
            case MessageStarted started:
                Start(started, output);
                break;
            case TextStarted text:
                StartText(text.Index, output);
                break;
            case TextDelta delta when _blocks.TryGetValue(delta.Index, out var block) && !block.Done:
                block.Text.Append(delta.Text);
                WriteTextDelta(block, delta.Text, output);
                break;
            case ThinkingStarted thinking:
                StartReasoning(thinking.Index, output);
                break;
            case ThinkingDelta delta when _blocks.TryGetValue(delta.Index, out var block) && !block.Done && delta.Text.Length > 0:
                if (block.Text.Length == 0)
                {
                    StartSummaryPart(block, output);
                }

                block.Text.Append(delta.Text);
                WriteReasoningDelta(block, delta.Text, output);
                break;
            case ThinkingSignature signature when _blocks.TryGetValue(signature.Index, out var block) && !block.Done:
                // The last signature of a block is the one that covers it (Anthropic sends one; Gemini may sign each part).
                block.Item.EncryptedContent = ResponsesSignedReasoning.EncryptedContent(signature.Signature, signature.SignedBy);
                break;
            case ToolCallStarted call:
                StartFunctionCall(call, output);
                break;
            case ToolArgumentsDelta delta when _blocks.TryGetValue(delta.Index, out var block) && !block.Done:
                block.Text.Append(delta.PartialJson);
                if (block.Item.Kind == ItemKind.FunctionCall)
                {
                    WriteArgumentsDelta(block, delta.PartialJson, output);
                }

                break;
            case BlockStopped stopped when _blocks.TryGetValue(stopped.Index, out var block) && !block.Done:
                StopBlock(block, output);
                break;
            case UsageReported usage:
                _usage.Add(usage.Usage);
                break;
            case MessageFinished finished:
                _stopReason = finished.StopReason;
                CloseAll(output);
                break;
            case MessageStopped:
                CloseAll(output);
                Finish(output);
                break;
        }
    }

    /// <summary>
    /// Ends a failed stream as OpenAI ends one: <c>event: error</c>, then <c>response.failed</c> with the response so far
    /// (<c>status: "failed"</c>, <c>error: {code, message}</c>), numbered on from the last event.
    /// </summary>
    /// <remarks>
    /// NOTE: both, because clients read different ones. The SDKs (openai-python, openai-node) raise on the first event
    /// whose data has a top-level <c>error</c>, so the <c>error</c> event goes first with the documented flat fields
    /// (<c>code</c>, <c>message</c>, <c>param</c>) and the nested object the live API sends. Codex ignores <c>error</c>
    /// and reads only <c>response.failed</c> (codex-rs codex-api/src/sse/responses.rs): its <c>error.code</c>
    /// <c>context_length_exceeded</c> or <c>insufficient_quota</c> stops the turn with a message instead of five retries
    /// of a stream "closed before response.completed", and <c>rate_limit_exceeded</c> with "try again in N s" in the
    /// message sets its wait.
    /// </remarks>
    public void WriteError(RelayError error, IBufferWriter<byte> output)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;

        // The flat code is the shared shape's code, or its type when there is no code.
        var code = OpenAIErrors.CodeOf(error) ?? OpenAIErrors.TypeOf(error.Kind);

        var json = Begin("error");
        json.WriteString("code", code);
        json.WriteString("message", error.Message);
        if (error.Param is null)
        {
            json.WriteNull("param");
        }
        else
        {
            json.WriteString("param", error.Param);
        }

        OpenAIErrors.WriteErrorProperty(error, json);
        End("error", output);

        if (_createdAt == 0)
        {
            // Failed before the upstream's first event: the response that failed still needs an id and a time.
            _responseId = ResponsesWire.ResponseId(string.Empty);
            _createdAt = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        }

        WriteResponseEvent("response.failed", "failed", null, includeOutput: true, output, new ResponseFailure(code, FailureMessage(error, code)));
    }

    /// <summary>
    /// The message, with a wait the relay knows in the words Codex looks for when the message has none
    /// ("try again in 1.5s", codex-rs <c>try_parse_retry_after</c>, read only for <c>rate_limit_exceeded</c>).
    /// </summary>
    private static string FailureMessage(RelayError error, string code) =>
        code == "rate_limit_exceeded" && error.RetryAfter is { } wait && !error.Message.Contains("try again in", StringComparison.OrdinalIgnoreCase)
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{error.Message} Please try again in {Math.Max(wait.TotalSeconds, 0.001):0.###}s.")
            : error.Message;

    private void Start(MessageStarted started, IBufferWriter<byte> output)
    {
        _responseId = ResponsesWire.ResponseId(started.Id);
        _model = started.Model;
        _createdAt = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        if (started.Usage is { } usage)
        {
            _usage.Add(usage);
        }

        WriteResponseEvent("response.created", "in_progress", null, includeOutput: false, output);
        WriteResponseEvent("response.in_progress", "in_progress", null, includeOutput: false, output);
    }

    private void StartText(int index, IBufferWriter<byte> output)
    {
        var message = _openMessage;
        if (message is null)
        {
            EndLastItem(output);
            message = AddItem(ItemKind.Message, "msg_", callId: null, name: null);
            _openMessage = message;
            var added = BeginItemEvent("response.output_item.added", message);
            ResponsesWire.WriteMessageItemStart(added, message.Id, "in_progress");
            ResponsesWire.WriteMessageItemEnd(added);
            End("response.output_item.added", output);
        }

        var block = new Block(message, message.Blocks.Count);
        message.Blocks.Add(block);
        _blocks[index] = block;

        var json = BeginPartEvent("response.content_part.added", block);
        json.WritePropertyName("part");
        ResponsesWire.WriteOutputText(json, string.Empty);
        End("response.content_part.added", output);
    }

    private void StartFunctionCall(ToolCallStarted call, IBufferWriter<byte> output)
    {
        EndLastItem(output);
        var tool = _echo.ToolNamed(call.Name);
        var custom = tool is { IsCustom: true };
        var item = AddItem(custom ? ItemKind.CustomToolCall : ItemKind.FunctionCall, custom ? "ctc_" : "fc_", call.Id, call.Name);
        item.Namespace = tool?.Namespace;
        var block = new Block(item, 0);
        item.Blocks.Add(block);
        _blocks[call.Index] = block;

        var json = BeginItemEvent("response.output_item.added", item);
        if (custom)
        {
            ResponsesWire.WriteCustomToolCallItem(json, item.Id, call.Id, call.Name, string.Empty, "in_progress", item.Namespace);
        }
        else
        {
            ResponsesWire.WriteFunctionCallItem(json, item.Id, call.Id, call.Name, string.Empty, "in_progress", item.Namespace);
        }

        End("response.output_item.added", output);
    }

    private void StartReasoning(int index, IBufferWriter<byte> output)
    {
        EndLastItem(output);
        var item = AddItem(ItemKind.Reasoning, "rs_", callId: null, name: null);
        var block = new Block(item, 0);
        item.Blocks.Add(block);
        _blocks[index] = block;

        var added = BeginItemEvent("response.output_item.added", item);
        ResponsesWire.WriteReasoningItem(added, item.Id, summary: null);
        End("response.output_item.added", output);
    }

    /// <summary>
    /// Opens the reasoning item's summary part at its first text, not with the item: reasoning with no text (a Gemini
    /// thought signature alone) has no part at all, as <c>summary: []</c> in the final item says.
    /// </summary>
    private void StartSummaryPart(Block block, IBufferWriter<byte> output)
    {
        var json = BeginSummaryEvent("response.reasoning_summary_part.added", block);
        json.WritePropertyName("part");
        ResponsesWire.WriteSummaryText(json, string.Empty);
        End("response.reasoning_summary_part.added", output);
    }

    private void WriteTextDelta(Block block, string delta, IBufferWriter<byte> output)
    {
        var json = BeginPartEvent("response.output_text.delta", block);
        json.WriteString("delta", delta);
        json.WriteStartArray("logprobs");
        json.WriteEndArray();
        End("response.output_text.delta", output);
    }

    private void WriteReasoningDelta(Block block, string delta, IBufferWriter<byte> output)
    {
        var json = BeginSummaryEvent("response.reasoning_summary_text.delta", block);
        json.WriteString("delta", delta);
        End("response.reasoning_summary_text.delta", output);
    }

    private void WriteArgumentsDelta(Block block, string delta, IBufferWriter<byte> output)
    {
        var json = Begin("response.function_call_arguments.delta");
        json.WriteString("item_id", block.Item.Id);
        json.WriteNumber("output_index", block.Item.OutputIndex);
        json.WriteString("delta", delta);
        End("response.function_call_arguments.delta", output);
    }

    private void StopBlock(Block block, IBufferWriter<byte> output)
    {
        block.Done = true;
        var item = block.Item;
        switch (item.Kind)
        {
            case ItemKind.Message:
                {
                    // The message item stays open: a following text block joins it as its next content part.
                    var text = block.Text.ToString();
                    var json = BeginPartEvent("response.output_text.done", block);
                    json.WriteString("text", text);
                    json.WriteStartArray("logprobs");
                    json.WriteEndArray();
                    End("response.output_text.done", output);

                    json = BeginPartEvent("response.content_part.done", block);
                    json.WritePropertyName("part");
                    ResponsesWire.WriteOutputText(json, text);
                    End("response.content_part.done", output);
                    break;
                }

            case ItemKind.FunctionCall:
                {
                    var json = Begin("response.function_call_arguments.done");
                    json.WriteString("item_id", item.Id);
                    json.WriteNumber("output_index", item.OutputIndex);
                    json.WriteString("name", item.Name);
                    json.WriteString("arguments", block.Text.ToString());
                    End("response.function_call_arguments.done", output);

                    // NOTE: the last item's done waits for what comes next: a stop for max tokens means the model was cut
                    // off inside this call (incomplete), another item means it was not (EndLastItem, CloseAll).
                    if (item.OutputIndex < _items.Count - 1)
                    {
                        WriteItemDone(item, output);
                    }

                    break;
                }

            case ItemKind.CustomToolCall:
                {
                    // NOTE: the upstream streams the arguments object ({"input":"…"}) in fragments, whose string cannot be
                    // cut out of a fragment reliably (escapes, a split key), so the input goes out whole when the call ends.
                    item.Input = OpenAICustomTool.InputOf(block.Text.ToString());
                    var json = Begin("response.custom_tool_call_input.delta");
                    json.WriteString("item_id", item.Id);
                    json.WriteNumber("output_index", item.OutputIndex);
                    json.WriteString("delta", item.Input);
                    End("response.custom_tool_call_input.delta", output);

                    json = Begin("response.custom_tool_call_input.done");
                    json.WriteString("item_id", item.Id);
                    json.WriteNumber("output_index", item.OutputIndex);
                    json.WriteString("input", item.Input);
                    End("response.custom_tool_call_input.done", output);

                    // As for a function call, the last item's done waits for what comes next.
                    if (item.OutputIndex < _items.Count - 1)
                    {
                        WriteItemDone(item, output);
                    }

                    break;
                }

            case ItemKind.Reasoning:
                {
                    if (block.Text.Length > 0)
                    {
                        var text = block.Text.ToString();
                        var json = BeginSummaryEvent("response.reasoning_summary_text.done", block);
                        json.WriteString("text", text);
                        End("response.reasoning_summary_text.done", output);

                        json = BeginSummaryEvent("response.reasoning_summary_part.done", block);
                        json.WritePropertyName("part");
                        ResponsesWire.WriteSummaryText(json, text);
                        End("response.reasoning_summary_part.done", output);
                    }

                    WriteItemDone(item, output);
                    break;
                }
        }
    }

    private void CloseMessage(IBufferWriter<byte> output)
    {
        if (_openMessage is not { } message)
        {
            return;
        }

        _openMessage = null;
        foreach (var block in message.Blocks)
        {
            if (!block.Done)
            {
                StopBlock(block, output);
            }
        }

        WriteItemDone(message, output);
    }

    /// <summary>Ends the last item before another starts: an open message, or a finished call whose done was waiting.</summary>
    private void EndLastItem(IBufferWriter<byte> output)
    {
        CloseMessage(output);
        if (_items.Count > 0 && _items[^1] is { Kind: ItemKind.FunctionCall or ItemKind.CustomToolCall, Done: false } call && call.Blocks[0].Done)
        {
            WriteItemDone(call, output);
        }
    }

    /// <summary>Ends every open block and item, so <c>response.completed</c> only ever lists finished items.</summary>
    private void CloseAll(IBufferWriter<byte> output)
    {
        foreach (var item in _items)
        {
            if (item.Done || item == _openMessage)
            {
                continue;
            }

            foreach (var block in item.Blocks)
            {
                if (!block.Done)
                {
                    StopBlock(block, output);
                }
            }

            // The last call, whose done waited to learn why the answer stopped.
            if (!item.Done)
            {
                WriteItemDone(item, output);
            }
        }

        CloseMessage(output);
    }

    private void Finish(IBufferWriter<byte> output)
    {
        var reason = _stopReason ?? StopReason.EndTurn;
        var status = ResponsesWire.StatusOf(reason);
        var eventName = status == "incomplete" ? "response.incomplete" : "response.completed";
        WriteResponseEvent(eventName, status, ResponsesWire.IncompleteReasonOf(reason), includeOutput: true, output);
        _ended = true;
    }

    private void WriteItemDone(OutputItem item, IBufferWriter<byte> output)
    {
        item.Done = true;
        item.Status = ResponsesWire.ItemStatusOf(_stopReason ?? StopReason.EndTurn, last: item.OutputIndex == _items.Count - 1);
        var json = BeginItemEvent("response.output_item.done", item);
        WriteFinalItem(json, item);
        End("response.output_item.done", output);
    }

    private static void WriteFinalItem(Utf8JsonWriter json, OutputItem item)
    {
        switch (item.Kind)
        {
            case ItemKind.Message:
                ResponsesWire.WriteMessageItemStart(json, item.Id, item.Status);
                foreach (var block in item.Blocks)
                {
                    ResponsesWire.WriteOutputText(json, block.Text.ToString());
                }

                ResponsesWire.WriteMessageItemEnd(json);
                break;
            case ItemKind.FunctionCall:
                ResponsesWire.WriteFunctionCallItem(json, item.Id, item.CallId!, item.Name!, item.Blocks[0].Text.ToString(), item.Status, item.Namespace);
                break;
            case ItemKind.CustomToolCall:
                ResponsesWire.WriteCustomToolCallItem(json, item.Id, item.CallId!, item.Name!, item.Input ?? string.Empty, item.Status, item.Namespace);
                break;
            case ItemKind.Reasoning:
                ResponsesWire.WriteReasoningItem(json, item.Id, item.Blocks[0].Text.ToString(), item.EncryptedContent);
                break;
        }
    }

    private void WriteResponseEvent(string eventName, string status, string? incompleteReason, bool includeOutput, IBufferWriter<byte> output, ResponseFailure? failure = null)
    {
        var head = new ResponseHead(_responseId, _createdAt, status, incompleteReason, _model, _echo, failure);
        var json = Begin(eventName);
        json.WritePropertyName("response");
        ResponsesWire.WriteResponseHead(json, head);
        json.WriteStartArray();
        if (includeOutput)
        {
            foreach (var item in _items)
            {
                WriteFinalItem(json, item);
            }
        }

        json.WriteEndArray();
        ResponsesWire.WriteResponseTail(json, head, includeOutput ? _usage.Current : null);
        End(eventName, output);
    }

    private OutputItem AddItem(ItemKind kind, string idPrefix, string? callId, string? name)
    {
        var outputIndex = _items.Count;
        var item = new OutputItem(kind, outputIndex, ResponsesWire.ItemId(idPrefix, _responseId, outputIndex), callId, name);
        _items.Add(item);
        return item;
    }

    private Utf8JsonWriter BeginItemEvent(string type, OutputItem item)
    {
        var json = Begin(type);
        json.WriteNumber("output_index", item.OutputIndex);
        json.WritePropertyName("item");
        return json;
    }

    private Utf8JsonWriter BeginPartEvent(string type, Block block)
    {
        var json = Begin(type);
        json.WriteString("item_id", block.Item.Id);
        json.WriteNumber("output_index", block.Item.OutputIndex);
        json.WriteNumber("content_index", block.SubIndex);
        return json;
    }

    private Utf8JsonWriter BeginSummaryEvent(string type, Block block)
    {
        var json = Begin(type);
        json.WriteString("item_id", block.Item.Id);
        json.WriteNumber("output_index", block.Item.OutputIndex);
        json.WriteNumber("summary_index", block.SubIndex);
        return json;
    }

    private Utf8JsonWriter Begin(string type)
    {
        _frame.ResetWrittenCount();
        _json.Reset(_frame);
        _json.WriteStartObject();
        _json.WriteString("type", type);
        _json.WriteNumber("sequence_number", _sequence++);
        return _json;
    }

    private void End(string type, IBufferWriter<byte> output)
    {
        _json.WriteEndObject();
        _json.Flush();
        SseWriter.WriteRaw(output, type, _frame.WrittenSpan);
    }

    private sealed class OutputItem(ItemKind kind, int outputIndex, string id, string? callId, string? name)
    {
        public ItemKind Kind { get; } = kind;
        public int OutputIndex { get; } = outputIndex;
        public string Id { get; } = id;
        public string? CallId { get; } = callId;
        public string? Name { get; } = name;

        /// <summary>The <c>namespace</c> tool a called tool was declared in (<see cref="ToolDefinition.Namespace"/>).</summary>
        public string? Namespace { get; set; }

        /// <summary>A custom tool call's free text, set when its arguments end.</summary>
        public string? Input { get; set; }

        /// <summary>A reasoning item's signature, tagged with its maker (<see cref="ResponsesSignedReasoning"/>).</summary>
        public string? EncryptedContent { get; set; }

        public List<Block> Blocks { get; } = [];
        public bool Done { get; set; }

        /// <summary>Set when the item is done (<see cref="ResponsesWire.ItemStatusOf"/>).</summary>
        public string Status { get; set; } = "in_progress";
    }

    /// <summary>One canonical block: a content part of a message, a call's arguments, or a reasoning summary part.</summary>
    private sealed class Block(OutputItem item, int subIndex)
    {
        public OutputItem Item { get; } = item;

        /// <summary>The content_index (message) or summary_index (reasoning) of this part.</summary>
        public int SubIndex { get; } = subIndex;

        public StringBuilder Text { get; } = new();
        public bool Done { get; set; }
    }
}
