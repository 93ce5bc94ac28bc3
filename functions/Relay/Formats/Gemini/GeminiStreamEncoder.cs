using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Sse;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>
/// Encodes canonical events as <c>streamGenerateContent?alt=sse</c> chunks: <c>data: {GenerateContentResponse}\n\n</c>.
/// Google's SDKs split frames on a blank line after <c>data: </c> (js-genai: <c>/^data: (.*)(?:\n\n|\r\r|\r\n\r\n)/</c>),
/// so plain <c>\n\n</c> framing is accepted.
/// </summary>
internal sealed class GeminiStreamEncoder : IStreamEncoder
{
    private readonly UsageAccumulator _usage = new();
    private readonly Action<Utf8JsonWriter> _writeContentChunk;
    private readonly Action<Utf8JsonWriter> _writeFinalChunk;
    private string _id = string.Empty;
    private string _model = string.Empty;
    private StopReason _stopReason = StopReason.EndTurn;
    private bool _done;

    // Tool calls are written whole, when their block stops: Gemini has no partial function calls.
    private Dictionary<int, PendingCall>? _calls;

    // Thinking blocks that carried text; a signature on a text-less block belongs to the next function call.
    private HashSet<int>? _thinkingWithText;
    private string? _pendingSignature;

    // The part the next content chunk carries (set just before writing, so the write delegates are allocated once).
    private string? _partText;
    private bool _partThought;
    private string? _partSignature;
    private ToolCallPart? _partCall;

    public GeminiStreamEncoder()
    {
        _writeContentChunk = WriteContentChunk;
        _writeFinalChunk = WriteFinalChunk;
    }

    public void Write(StreamEvent streamEvent, IBufferWriter<byte> output)
    {
        if (_done)
        {
            return;
        }

        switch (streamEvent)
        {
            case MessageStarted started:
                _id = started.Id;
                _model = started.Model;
                if (started.Usage is not null)
                {
                    _usage.Add(started.Usage);
                }

                break;
            case TextDelta { Text.Length: > 0 } text:
                WriteText(output, text.Text, thought: false, signature: null);
                break;
            case ThinkingDelta { Text.Length: > 0 } thinking:
                (_thinkingWithText ??= []).Add(thinking.Index);
                WriteText(output, thinking.Text, thought: true, signature: null);
                break;
            case ThinkingSignature signature:
                if (_thinkingWithText is not null && _thinkingWithText.Contains(signature.Index))
                {
                    WriteText(output, string.Empty, thought: true, signature.Signature);
                }
                else
                {
                    _pendingSignature = signature.Signature;
                }

                break;
            case ToolCallStarted call:
                (_calls ??= [])[call.Index] = new PendingCall(call.Id, call.Name, _pendingSignature);
                _pendingSignature = null;
                break;
            case ToolArgumentsDelta delta:
                if (_calls is not null && _calls.TryGetValue(delta.Index, out var pending))
                {
                    pending.Arguments.Append(delta.PartialJson);
                }

                break;
            case BlockStopped stopped:
                if (_calls is not null && _calls.Remove(stopped.Index, out var finished))
                {
                    WriteCall(output, finished);
                }

                break;
            case UsageReported usage:
                _usage.Add(usage.Usage);
                break;
            case MessageFinished finish:
                _stopReason = finish.StopReason;
                break;
            case MessageStopped:
                FlushCalls(output);
                SseWriter.WriteJson(output, null, _writeFinalChunk);
                _done = true;
                break;
        }
    }

    /// <summary>Ends the stream with Google's error object on a line of its own, not in a <c>data:</c> frame.</summary>
    /// <remarks>
    /// NOTE: js-genai, under Gemini CLI, raises an <c>ApiError</c> only for a chunk that parses whole as
    /// <c>{"error":...}</c> (<c>processStreamResponse</c> in src/_api_client.ts); a <c>data:</c> frame holding one read
    /// as an answer without candidates, and Gemini CLI reported "Model stream ended without a finish reason".
    /// python-genai raises for the unframed line too (<c>request_streamed</c>). The line ends in one newline, not a
    /// blank line: js-genai drops a complete event that is not <c>data:</c>, but fails on a trailing incomplete one
    /// when the error arrives in the same read as the frame before it. A stream without <c>alt=sse</c> takes the line
    /// as its last element (<c>JsonArrayFraming</c>).
    /// </remarks>
    public void WriteError(RelayError error, IBufferWriter<byte> output)
    {
        SseWriter.WriteUnframedJson(output, json =>
        {
            json.WriteStartObject();
            GeminiErrors.WriteErrorProperty(error, json);
            json.WriteEndObject();
        });
        _done = true;
    }

    private void WriteText(IBufferWriter<byte> output, string text, bool thought, string? signature)
    {
        _partText = text;
        _partThought = thought;
        _partSignature = signature;
        _partCall = null;
        SseWriter.WriteJson(output, null, _writeContentChunk);
    }

    private void WriteCall(IBufferWriter<byte> output, PendingCall call)
    {
        var arguments = call.Arguments.Length == 0 ? "{}" : call.Arguments.ToString();
        _partText = null;
        _partThought = false;
        _partSignature = call.Signature;
        _partCall = new ToolCallPart(call.Id, call.Name, arguments);
        SseWriter.WriteJson(output, null, _writeContentChunk);
    }

    // Calls whose block never stopped are still answers the model gave.
    private void FlushCalls(IBufferWriter<byte> output)
    {
        if (_calls is null || _calls.Count == 0)
        {
            return;
        }

        var indices = new List<int>(_calls.Keys);
        indices.Sort();
        foreach (var index in indices)
        {
            WriteCall(output, _calls[index]);
        }

        _calls.Clear();
    }

    private void WriteContentChunk(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartArray("candidates");
        json.WriteStartObject();
        json.WriteStartObject("content");
        json.WriteString("role", "model");
        json.WriteStartArray("parts");
        json.WriteStartObject();
        if (_partCall is not null)
        {
            GeminiWire.WriteFunctionCall(_partCall, json, writeId: true);
        }
        else
        {
            json.WriteString("text", _partText);
            if (_partThought)
            {
                json.WriteBoolean("thought", true);
            }
        }

        if (_partSignature is not null)
        {
            json.WriteString("thoughtSignature", _partSignature);
        }

        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteNumber("index", 0);
        json.WriteEndObject();
        json.WriteEndArray();
        WriteTrailer(json);
        json.WriteEndObject();
    }

    private void WriteFinalChunk(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartArray("candidates");
        json.WriteStartObject();

        // Gemini's own last chunk carries an empty text part; clients that read parts[0] rely on it being there.
        json.WriteStartObject("content");
        json.WriteString("role", "model");
        json.WriteStartArray("parts");
        json.WriteStartObject();
        json.WriteString("text", string.Empty);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteString("finishReason", GeminiWire.ToFinishReason(_stopReason));
        json.WriteNumber("index", 0);
        json.WriteEndObject();
        json.WriteEndArray();
        if (_usage.HasAny)
        {
            GeminiWire.WriteUsage(_usage.Current, json);
        }

        WriteTrailer(json);
        json.WriteEndObject();
    }

    private void WriteTrailer(Utf8JsonWriter json)
    {
        json.WriteString("modelVersion", _model);
        json.WriteString("responseId", _id);
    }

    private sealed class PendingCall(string id, string name, string? signature)
    {
        public string Id { get; } = id;
        public string Name { get; } = name;
        public string? Signature { get; } = signature;
        public StringBuilder Arguments { get; } = new();
    }
}
