using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.Sse;
using static Serverless.Tests.Formats.Gemini.GeminiTestJson;
using Xunit;

namespace Serverless.Tests.Formats.Gemini;

public sealed class GeminiStreamDecoderTests
{
    [Fact]
    public void Decode_RecordedTextStream_EmitsCanonicalEvents()
    {
        // Shape of a gemini-2.5-flash `streamGenerateContent?alt=sse` answer with thinking enabled (includeThoughts).
        var events = Decode(
            """{"candidates": [{"content": {"parts": [{"text": "**Planning the answer**\n\n","thought": true}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 12,"totalTokenCount": 52,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 12}],"thoughtsTokenCount": 40},"modelVersion": "gemini-2.5-flash","responseId": "3aFuaLqkGJqVnvgPvNfB4Ac"}""",
            """{"candidates": [{"content": {"parts": [{"text": "The capital"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 2,"totalTokenCount": 54,"thoughtsTokenCount": 40},"modelVersion": "gemini-2.5-flash","responseId": "3aFuaLqkGJqVnvgPvNfB4Ac"}""",
            """{"candidates": [{"content": {"parts": [{"text": " of France is Paris."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 8,"totalTokenCount": 60,"thoughtsTokenCount": 40},"modelVersion": "gemini-2.5-flash","responseId": "3aFuaLqkGJqVnvgPvNfB4Ac"}""");

        Assert.Equal<StreamEvent>(
            [
                new MessageStarted("3aFuaLqkGJqVnvgPvNfB4Ac", "gemini-2.5-flash"),
                new ThinkingStarted(0),
                new ThinkingDelta(0, "**Planning the answer**\n\n"),
                new UsageReported(new UsageReport { InputTokens = 12, CacheReadTokens = 0, OutputTokens = 40, ReasoningTokens = 40 }),
                new BlockStopped(0),
                new TextStarted(1),
                new TextDelta(1, "The capital"),
                new UsageReported(new UsageReport { InputTokens = 12, CacheReadTokens = 0, OutputTokens = 42, ReasoningTokens = 40 }),
                new TextDelta(1, " of France is Paris."),
                new UsageReported(new UsageReport { InputTokens = 12, CacheReadTokens = 0, OutputTokens = 48, ReasoningTokens = 40 }),
                new BlockStopped(1),
                new MessageFinished(StopReason.EndTurn),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_FunctionCallStream_EmitsWholeToolCallsAndToolUse()
    {
        var events = Decode(
            """{"candidates":[{"content":{"parts":[{"text":"Let me check."}],"role":"model"},"index":0}],"modelVersion":"gemini-3-pro-preview","responseId":"abc"}""",
            """{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"},{"functionCall":{"name":"get_weather","args":{"city":"London"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":300,"candidatesTokenCount":30,"totalTokenCount":330,"cachedContentTokenCount":200},"modelVersion":"gemini-3-pro-preview","responseId":"abc"}""");

        Assert.Equal<StreamEvent>(
            [
                new MessageStarted("abc", "gemini-3-pro-preview"),
                new TextStarted(0),
                new TextDelta(0, "Let me check."),
                new BlockStopped(0),
                new ThinkingStarted(1),
                new ThinkingSignature(1, "c2ln", ThinkingSigner.Gemini),
                new BlockStopped(1),
                new ToolCallStarted(2, "call_abc_0", "get_weather"),
                new ToolArgumentsDelta(2, """{"city":"Paris"}"""),
                new BlockStopped(2),
                new ToolCallStarted(3, "call_abc_1", "get_weather"),
                new ToolArgumentsDelta(3, """{"city":"London"}"""),
                new BlockStopped(3),
                new UsageReported(new UsageReport { InputTokens = 100, CacheReadTokens = 200, OutputTokens = 30, ReasoningTokens = 0 }),
                new MessageFinished(StopReason.ToolUse),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_FinalEmptyTextPart_OpensNoBlock()
    {
        var events = Decode(
            """{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"responseId":"r"}""",
            """{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],"responseId":"r"}""");

        Assert.Equal<StreamEvent>(
            [new MessageStarted("r", ""), new TextStarted(0), new TextDelta(0, "Hi"), new BlockStopped(0), new MessageFinished(StopReason.MaxTokens), MessageStopped.Instance],
            events);
    }

    [Fact]
    public void Complete_WithoutFinishReason_FinishesWithEndTurn()
    {
        var events = Decode("""{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"}}],"responseId":"r","modelVersion":"m"}""");

        Assert.Equal<StreamEvent>(
            [new MessageStarted("r", "m"), new TextStarted(0), new TextDelta(0, "Hi"), new BlockStopped(0), new MessageFinished(StopReason.EndTurn), MessageStopped.Instance],
            events);
    }

    [Fact]
    public void Complete_WithoutFinishReasonAfterCall_FinishesWithToolUse()
    {
        var events = Decode("""{"candidates":[{"content":{"parts":[{"functionCall":{"id":"x1","name":"f"}}],"role":"model"}}],"responseId":"r"}""");

        Assert.Equal<StreamEvent>(
            [
                new MessageStarted("r", ""),
                new ToolCallStarted(0, "x1", "f"),
                new ToolArgumentsDelta(0, "{}"),
                new BlockStopped(0),
                new MessageFinished(StopReason.ToolUse),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_BlockedPrompt_FinishesWithContentFilter()
    {
        var events = Decode("""{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7},"modelVersion":"gemini-2.5-flash","responseId":"b"}""");

        Assert.Equal<StreamEvent>(
            [
                new MessageStarted("b", "gemini-2.5-flash"),
                new UsageReported(new UsageReport { InputTokens = 7, CacheReadTokens = 0 }),
                new MessageFinished(StopReason.ContentFilter),
                MessageStopped.Instance,
            ],
            events);
    }

    [Fact]
    public void Decode_ErrorChunk_ReturnsRelayError()
    {
        var decoder = GeminiFormat.Instance.CreateStreamDecoder();
        var events = new List<StreamEvent>();

        var error = decoder.Decode(new SseEvent(null, """{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"""), events);

        Assert.Equal(new RelayError(ErrorKind.Overloaded, "The model is overloaded. Please try again later."), error);
        Assert.Empty(events);
    }

    [Theory]
    [InlineData("{not json", "Gemini stream: a chunk was not valid JSON.")]
    [InlineData("[1]", "Gemini stream: a chunk was not a JSON object.")]
    public void Decode_UnreadableChunk_ReturnsUpstreamError(string data, string message)
    {
        var decoder = GeminiFormat.Instance.CreateStreamDecoder();

        var error = decoder.Decode(new SseEvent(null, data), []);

        Assert.Equal(new RelayError(ErrorKind.Upstream, message), error);
    }

    [Fact]
    public void Complete_NoChunk_ReturnsError()
    {
        var decoder = GeminiFormat.Instance.CreateStreamDecoder();
        var events = new List<StreamEvent>();

        Assert.Null(decoder.Decode(new SseEvent(null, ""), events));
        var error = decoder.Complete(events);

        Assert.Equal(new RelayError(ErrorKind.Upstream, "Gemini stream ended before its first chunk."), error);
        Assert.Empty(events);
    }
}
