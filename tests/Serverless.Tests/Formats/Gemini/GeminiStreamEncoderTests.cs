using System.Buffers;
using System.Text;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Gemini;
using static Serverless.Tests.Formats.Gemini.GeminiTestJson;
using Xunit;

namespace Serverless.Tests.Formats.Gemini;

public sealed class GeminiStreamEncoderTests
{
    private const string Trailer = ",'modelVersion':'gpt-4o','responseId':'chatcmpl-1'}";

    private static string TextChunk(string text, string extra = "") =>
        "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'text':'" + text + "'" + extra + "}]},'index':0}]" + Trailer) + "\n\n";

    [Fact]
    public void Write_TextStreamWithLateUsage_WritesChunksAndFinalUsage()
    {
        // OpenAI order: the usage chunk follows the finish chunk.
        var frames = Encode(
        [
            new MessageStarted("chatcmpl-1", "gpt-4o"),
            new TextStarted(0),
            new TextDelta(0, "Hello"),
            new TextDelta(0, string.Empty),
            new TextDelta(0, " world"),
            new BlockStopped(0),
            new MessageFinished(StopReason.EndTurn),
            new UsageReported(new UsageReport { InputTokens = 10, CacheReadTokens = 90, OutputTokens = 5 }),
            MessageStopped.Instance,
        ]);

        Assert.Equal(
            TextChunk("Hello") + TextChunk(" world") +
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'text':''}]},'finishReason':'STOP','index':0}],'usageMetadata':{'promptTokenCount':100,'candidatesTokenCount':5,'totalTokenCount':105,'cachedContentTokenCount':90}" + Trailer) + "\n\n",
            frames);
    }

    [Fact]
    public void Write_ToolCallDeltas_AreBufferedIntoOneFunctionCallChunk()
    {
        var frames = Encode(
        [
            new MessageStarted("chatcmpl-1", "gpt-4o"),
            new ToolCallStarted(0, "call_a", "get_weather"),
            new ToolCallStarted(1, "call_b", "get_time"),
            new ToolArgumentsDelta(0, "{\"ci"),
            new ToolArgumentsDelta(1, ""),
            new ToolArgumentsDelta(0, "ty\":\"Paris\"}"),
            new BlockStopped(0),
            new BlockStopped(1),
            new MessageFinished(StopReason.ToolUse),
            MessageStopped.Instance,
        ]);

        Assert.Equal(
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'functionCall':{'id':'call_a','name':'get_weather','args':{'city':'Paris'}}}]},'index':0}]" + Trailer) + "\n\n" +
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'functionCall':{'id':'call_b','name':'get_time','args':{}}}]},'index':0}]" + Trailer) + "\n\n" +
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'text':''}]},'finishReason':'STOP','index':0}]" + Trailer) + "\n\n",
            frames);
    }

    [Fact]
    public void Write_PrettyPrintedArguments_AreWrittenOnOneLine()
    {
        var frames = Encode(
        [
            new MessageStarted("chatcmpl-1", "gpt-4o"),
            new ToolCallStarted(0, "c1", "f"),
            new ToolArgumentsDelta(0, "{\n  \"q\": \"a\\nb \\u00e9\",\n  \"n\": 1.50\n}"),
            new BlockStopped(0),
        ]);

        Assert.Equal(
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'functionCall':{'id':'c1','name':'f','args':{'q':'a\\nb é','n':1.50}}}]},'index':0}]" + Trailer) + "\n\n",
            frames);
    }

    [Fact]
    public void Write_ThinkingAndSignatures_WritesThoughtPartsAndSignedCall()
    {
        var frames = Encode(
        [
            new MessageStarted("chatcmpl-1", "gpt-4o"),
            new ThinkingStarted(0),
            new ThinkingDelta(0, "hmm"),
            new ThinkingSignature(0, "sig1"),
            new BlockStopped(0),
            new ThinkingStarted(1),
            new ThinkingSignature(1, "sig2"),
            new BlockStopped(1),
            new ToolCallStarted(2, "c1", "f"),
            new ToolArgumentsDelta(2, "{}"),
            new BlockStopped(2),
            new MessageFinished(StopReason.MaxTokens),
            MessageStopped.Instance,
        ]);

        Assert.Equal(
            TextChunk("hmm", ",'thought':true") +
            TextChunk(string.Empty, ",'thought':true,'thoughtSignature':'sig1'") +
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'functionCall':{'id':'c1','name':'f','args':{}},'thoughtSignature':'sig2'}]},'index':0}]" + Trailer) + "\n\n" +
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'text':''}]},'finishReason':'MAX_TOKENS','index':0}]" + Trailer) + "\n\n",
            frames);
    }

    [Fact]
    public void Write_UnstoppedToolCall_IsFlushedBeforeFinalChunk()
    {
        var frames = Encode(
        [
            new MessageStarted("chatcmpl-1", "gpt-4o"),
            new ToolCallStarted(0, "c1", "f"),
            new ToolArgumentsDelta(0, "{\"a\":1}"),
            MessageStopped.Instance,
            new TextDelta(1, "ignored after stop"),
        ]);

        Assert.Equal(
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'functionCall':{'id':'c1','name':'f','args':{'a':1}}}]},'index':0}]" + Trailer) + "\n\n" +
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'text':''}]},'finishReason':'STOP','index':0}]" + Trailer) + "\n\n",
            frames);
    }

    [Fact]
    public void WriteError_MidStream_WritesUnframedErrorLineAndStops()
    {
        // Google's SDKs raise an error for {"error":...} outside a data: frame; js-genai ignores one inside.
        var encoder = GeminiFormat.Instance.CreateStreamEncoder(new ChatRequest { Model = "m", Messages = [] });
        var buffer = new ArrayBufferWriter<byte>();

        encoder.Write(new MessageStarted("r", "m"), buffer);
        encoder.WriteError(new RelayError(ErrorKind.Overloaded, "Upstream overloaded."), buffer);
        encoder.Write(MessageStopped.Instance, buffer);

        Assert.Equal(
            Q("{'error':{'code':503,'message':'Upstream overloaded.','status':'UNAVAILABLE'}}") + "\n",
            Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void DecodeThenEncode_GeminiStream_KeepsTextCallsAndUsage()
    {
        var events = Decode(
            """{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":50,"totalTokenCount":50},"modelVersion":"gemini-2.5-flash","responseId":"r1"}""",
            """{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"x":[1,2]}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":50,"candidatesTokenCount":12,"totalTokenCount":62,"cachedContentTokenCount":32},"modelVersion":"gemini-2.5-flash","responseId":"r1"}""");

        Assert.Equal(
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'text':'Hi'}]},'index':0}],'modelVersion':'gemini-2.5-flash','responseId':'r1'}") + "\n\n" +
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'functionCall':{'id':'call_r1_0','name':'f','args':{'x':[1,2]}}}]},'index':0}],'modelVersion':'gemini-2.5-flash','responseId':'r1'}") + "\n\n" +
            "data: " + Q("{'candidates':[{'content':{'role':'model','parts':[{'text':''}]},'finishReason':'STOP','index':0}],'usageMetadata':{'promptTokenCount':50,'candidatesTokenCount':12,'totalTokenCount':62,'cachedContentTokenCount':32},'modelVersion':'gemini-2.5-flash','responseId':'r1'}") + "\n\n",
            Encode(events));
    }
}
