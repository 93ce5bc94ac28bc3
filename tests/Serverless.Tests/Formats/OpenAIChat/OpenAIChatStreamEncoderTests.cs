using System.ClientModel.Primitives;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;
using Xunit;
using static Serverless.Tests.Formats.OpenAIChat.OpenAIChatTestSupport;

namespace Serverless.Tests.Formats.OpenAIChat;

public sealed class OpenAIChatStreamEncoderTests
{
    private static readonly ChatRequest WithUsage = new() { Model = "m", Messages = [], Stream = true, StreamUsage = true };
    private static readonly ChatRequest WithoutUsage = new() { Model = "m", Messages = [], Stream = true };

    private static readonly StreamEvent[] ToolAnswer =
    [
        new MessageStarted("msg_01", "claude-sonnet-4", new UsageReport { InputTokens = 10, CacheReadTokens = 90, CacheWriteTokens = 0 }),
        new ThinkingStarted(0),
        new ThinkingDelta(0, "hidden"),
        new ThinkingSignature(0, "sig"),
        new BlockStopped(0),
        new TextStarted(1),
        new TextDelta(1, "Let me check."),
        new BlockStopped(1),
        new ToolCallStarted(2, "toolu_1", "get_weather"),
        new ToolArgumentsDelta(2, "{\"location\":"),
        new ToolArgumentsDelta(2, "\"Paris\"}"),
        new BlockStopped(2),
        new ToolCallStarted(3, "toolu_2", "get_time"),
        new ToolArgumentsDelta(3, "{}"),
        new BlockStopped(3),
        new MessageFinished(StopReason.ToolUse),
        new UsageReported(new UsageReport { OutputTokens = 25 }),
        MessageStopped.Instance,
    ];

    private static string Chunk(string delta, string finishReason = "null", bool usage = true) =>
        "data: {\"id\":\"msg_01\",\"object\":\"chat.completion.chunk\",\"created\":" + Now + ",\"model\":\"claude-sonnet-4\","
        + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":" + finishReason + "}]"
        + (usage ? ",\"usage\":null" : string.Empty) + "}\n\n";

    /// <summary>
    /// A call to one of the client's custom tools streams as OpenAI streams one: index, id, type custom and name first,
    /// then the input whole in one delta when the call ends (the upstream's argument fragments are JSON of the one
    /// string, which cannot be cut reliably); a function call beside it streams as before.
    /// </summary>
    [Fact]
    public void Write_CallToCustomTool_StreamsCustomDeltas()
    {
        var request = WithoutUsage with
        {
            Tools = [new ToolDefinition("apply_patch", null, OpenAICustomTool.InputSchema()) { IsCustom = true }],
        };

        var sse = Encode(
            request,
            new MessageStarted("msg_01", "claude-sonnet-4"),
            new ToolCallStarted(0, "toolu_1", "apply_patch"),
            new ToolArgumentsDelta(0, "{\"input\":\"*** Begin"),
            new ToolArgumentsDelta(0, " Patch\\n\"}"),
            new BlockStopped(0),
            new ToolCallStarted(1, "toolu_2", "get_time"),
            new ToolArgumentsDelta(1, "{}"),
            new BlockStopped(1),
            new MessageFinished(StopReason.ToolUse),
            MessageStopped.Instance);

        Assert.Equal(
            Chunk("""{"role":"assistant","content":"","refusal":null}""", usage: false)
            + Chunk("""{"tool_calls":[{"index":0,"id":"toolu_1","type":"custom","custom":{"name":"apply_patch","input":""}}]}""", usage: false)
            + Chunk("""{"tool_calls":[{"index":0,"custom":{"input":"*** Begin Patch\n"}}]}""", usage: false)
            + Chunk("""{"tool_calls":[{"index":1,"id":"toolu_2","type":"function","function":{"name":"get_time","arguments":""}}]}""", usage: false)
            + Chunk("""{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}""", usage: false)
            + Chunk("{}", "\"tool_calls\"", usage: false)
            + "data: [DONE]\n\n",
            sse);
    }

    /// <summary>An upstream that ends the answer without closing the custom call's block still gets its input out, before the finish.</summary>
    [Fact]
    public void Write_CustomCallOpenAtFinish_InputBeforeFinishReason()
    {
        var request = WithoutUsage with
        {
            Tools = [new ToolDefinition("apply_patch", null, OpenAICustomTool.InputSchema()) { IsCustom = true }],
        };

        var sse = Encode(
            request,
            new MessageStarted("msg_01", "claude-sonnet-4"),
            new ToolCallStarted(0, "toolu_1", "apply_patch"),
            new ToolArgumentsDelta(0, "{\"input\":\"x\"}"),
            new MessageFinished(StopReason.ToolUse),
            MessageStopped.Instance);

        Assert.EndsWith(
            Chunk("""{"tool_calls":[{"index":0,"custom":{"input":"x"}}]}""", usage: false)
            + Chunk("{}", "\"tool_calls\"", usage: false)
            + "data: [DONE]\n\n",
            sse,
            StringComparison.Ordinal);
    }

    /// <summary>Thinking streams as <c>reasoning_content</c>, the field DeepSeek and vLLM stream it in; its signature stays out.</summary>
    [Fact]
    public void Write_ToolAnswerWithStreamUsage_WritesExactFrames()
    {
        var sse = Encode(WithUsage, ToolAnswer);

        Assert.Equal(
            Chunk("""{"role":"assistant","content":"","refusal":null}""")
            + Chunk("""{"reasoning_content":"hidden"}""")
            + Chunk("""{"content":"Let me check."}""")
            + Chunk("""{"tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":""}}]}""")
            + Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]}""")
            + Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}""")
            + Chunk("""{"tool_calls":[{"index":1,"id":"toolu_2","type":"function","function":{"name":"get_time","arguments":""}}]}""")
            + Chunk("""{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}""")
            + Chunk("{}", "\"tool_calls\"")
            + "data: {\"id\":\"msg_01\",\"object\":\"chat.completion.chunk\",\"created\":" + Now + ",\"model\":\"claude-sonnet-4\",\"choices\":[],"
            + "\"usage\":" + """{"prompt_tokens":100,"completion_tokens":25,"total_tokens":125,"prompt_tokens_details":{"cached_tokens":90},"completion_tokens_details":{"reasoning_tokens":0}}}"""
            + "\n\n"
            + "data: [DONE]\n\n",
            sse);
    }

    [Fact]
    public void Write_WithoutStreamUsage_OmitsUsageKeyAndUsageChunk()
    {
        var sse = Encode(
            WithoutUsage,
            new MessageStarted("msg_01", "claude-sonnet-4"),
            new TextStarted(0),
            new TextDelta(0, "Hi ☃"),
            new BlockStopped(0),
            new MessageFinished(StopReason.MaxTokens),
            new UsageReported(new UsageReport { InputTokens = 3, OutputTokens = 4 }),
            MessageStopped.Instance);

        Assert.Equal(
            Chunk("""{"role":"assistant","content":"","refusal":null}""", usage: false)
            + Chunk("""{"content":"Hi ☃"}""", usage: false)
            + Chunk("{}", "\"length\"", usage: false)
            + "data: [DONE]\n\n",
            sse);
    }

    [Theory]
    [InlineData("EndTurn", "stop")]
    [InlineData("StopSequence", "stop")]
    [InlineData("MaxTokens", "length")]
    [InlineData("ToolUse", "tool_calls")]
    [InlineData("ContentFilter", "content_filter")]
    [InlineData("Other", "stop")]
    public void Write_MessageFinished_WritesFinishReason(string stopReason, string expected)
    {
        var sse = Encode(WithoutUsage, new MessageStarted("msg_01", "claude-sonnet-4"), new MessageFinished(Enum.Parse<StopReason>(stopReason), "END"));

        Assert.EndsWith(Chunk("{}", "\"" + expected + "\"", usage: false), sse, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_StoppedWithoutFinish_WritesStopFinishFirst()
    {
        var sse = Encode(WithoutUsage, new MessageStarted("msg_01", "claude-sonnet-4"), MessageStopped.Instance);

        Assert.Equal(
            Chunk("""{"role":"assistant","content":"","refusal":null}""", usage: false) + Chunk("{}", "\"stop\"", usage: false) + "data: [DONE]\n\n",
            sse);
    }

    [Fact]
    public void WriteError_MidStream_WritesErrorChunkAndNothingAfter()
    {
        var encoder = Format.CreateStreamEncoder(WithUsage);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        encoder.Write(new MessageStarted("msg_01", "claude-sonnet-4"), buffer);
        buffer.ResetWrittenCount();

        encoder.WriteError(new RelayError(ErrorKind.Overloaded, "Upstream is overloaded"), buffer);
        encoder.Write(MessageStopped.Instance, buffer);

        Assert.Equal(
            """data: {"error":{"message":"Upstream is overloaded","type":"server_error","param":null,"code":"service_unavailable"}}""" + "\n\n",
            System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void Write_EveryChunk_IsReadByOfficialSdk()
    {
        var sse = Encode(WithUsage, ToolAnswer);

        var updates = new List<OpenAI.Chat.StreamingChatCompletionUpdate>();
        foreach (var data in DataOf(sse))
        {
            if (data != "[DONE]")
            {
                updates.Add(ModelReaderWriter.Read<OpenAI.Chat.StreamingChatCompletionUpdate>(BinaryData.FromString(data))!);
            }
        }

        Assert.All(updates, update => Assert.Equal(("msg_01", "claude-sonnet-4"), (update.CompletionId, update.Model)));
        Assert.Equal(OpenAI.Chat.ChatMessageRole.Assistant, updates[0].Role);
        Assert.Equal("Let me check.", string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text)));

        var toolUpdates = updates.SelectMany(u => u.ToolCallUpdates).ToList();
        Assert.Equal(["toolu_1", "toolu_2"], toolUpdates.Where(t => t.ToolCallId is not null).Select(t => t.ToolCallId));
        Assert.Equal(["get_weather", "get_time"], toolUpdates.Where(t => t.FunctionName is not null).Select(t => t.FunctionName));
        Assert.Equal(
            """{"location":"Paris"}""",
            string.Concat(toolUpdates.Where(t => t.Index == 0).Select(t => t.FunctionArgumentsUpdate?.ToString())));
        Assert.Equal("{}", string.Concat(toolUpdates.Where(t => t.Index == 1).Select(t => t.FunctionArgumentsUpdate?.ToString())));

        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, Assert.Single(updates, u => u.FinishReason is not null).FinishReason);
        var usage = Assert.Single(updates, u => u.Usage is not null).Usage;
        Assert.Equal((100, 90, 25, 125), (usage.InputTokenCount, usage.InputTokenDetails.CachedTokenCount, usage.OutputTokenCount, usage.TotalTokenCount));
    }

    [Fact]
    public void Write_DecodedRecordedStream_ReproducesOpenAIFrames()
    {
        // Same-format relay: decode OpenAI's own stream and encode it back for an OpenAI client.
        var (events, error) = Decode(OpenAIChatStreamDecoderTests.RecordedTextStream);
        Assert.Null(error.Value);

        var sse = Encode(WithUsage, [.. events]);

        var expected = new List<string>();
        foreach (var data in DataOf(OpenAIChatStreamDecoderTests.RecordedTextStream))
        {
            expected.Add(data
                .Replace(",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_34a\"", string.Empty, StringComparison.Ordinal)
                .Replace("1747913844", Now.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace(",\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0", string.Empty, StringComparison.Ordinal)
                .Replace(",\"audio_tokens\":0", string.Empty, StringComparison.Ordinal));
        }

        Assert.Equal(expected, DataOf(sse));
    }
}
