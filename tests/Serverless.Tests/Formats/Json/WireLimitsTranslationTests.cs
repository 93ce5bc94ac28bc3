using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Tests.Formats.Anthropic;
using Xunit;

namespace Serverless.Tests.Formats.Json;

/// <summary>
/// What one API takes and another refuses or reads otherwise, met on the way through a translation: tool-call ids,
/// sampling ranges, stop sequences, calls without arguments, stop reasons, choices and Anthropic's <c>max_tokens: 0</c>.
/// </summary>
public sealed class WireLimitsTranslationTests
{
    private static readonly OpenAIChatFormat Chat = OpenAIChatFormat.Default;

    private static JsonElement Parse(string json) => Translation.Parse(json);

    private static ChatRequest Read(IChatFormat format, string body) => Translation.Read(format, body);

    private static JsonElement Write(IChatFormat upstream, ChatRequest request) => Translation.Write(request, upstream);

    [Fact]
    public void ToAnthropic_ToolIdsAnthropicRefuses_MendedAlikeInTheCallAndItsResult()
    {
        var request = Read(Chat, """
            {"model":"m","messages":[{"role":"user","content":"run it"},
             {"role":"assistant","tool_calls":[{"id":"functions.bash:0","type":"function","function":{"name":"bash","arguments":"{}"}}]},
             {"role":"tool","tool_call_id":"functions.bash:0","content":"ok"}]}
            """);

        var messages = Write(AnthropicFormat.Instance, request).GetProperty("messages");

        Assert.Equal("functions_bash_0", messages[1].GetProperty("content")[0].GetProperty("id").GetString());
        Assert.Equal("functions_bash_0", messages[2].GetProperty("content")[0].GetProperty("tool_use_id").GetString());
    }

    [Theory]
    [InlineData("toolu_01A-b_9", "toolu_01A-b_9")]
    [InlineData("call_x|fc_y", "call_x_fc_y")]
    [InlineData("", "_")]
    public void ToolUseId_OnlyCharactersAnthropicTakes(string id, string expected) =>
        Assert.Equal(expected, AnthropicWire.ToolUseId(id));

    [Fact]
    public void ToAnthropicClient_StreamedCallWithAForeignId_IdMended()
    {
        var encoder = AnthropicFormat.Instance.CreateStreamEncoder(Read(Chat, """{"model":"m","messages":[{"role":"user","content":"hi"}]}"""));
        var output = new ArrayBufferWriter<byte>();
        encoder.Write(new MessageStarted("id", "m"), output);
        encoder.Write(new ToolCallStarted(0, "functions.bash:0", "bash"), output);

        var sse = Encoding.UTF8.GetString(output.WrittenSpan);

        Assert.Contains("\"id\":\"functions_bash_0\"", sse, StringComparison.Ordinal);
        Assert.DoesNotContain("functions.bash:0", sse, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"temperature":1.6}""", 1.0, null)]
    [InlineData("""{"temperature":0.7,"top_p":0.95}""", 0.7, null)]
    [InlineData("""{"top_p":0.9}""", null, 0.9)]
    public void ToAnthropic_Sampling_OnlyWhatClaudeTakes(string sampling, double? temperature, double? topP)
    {
        var body = """{"model":"m","messages":[{"role":"user","content":"hi"}],""" + sampling[1..];

        var written = Write(AnthropicFormat.Instance, Read(Chat, body));

        Assert.Equal(temperature, written.TryGetProperty("temperature", out var t) ? t.GetDouble() : null);
        Assert.Equal(topP, written.TryGetProperty("top_p", out var p) ? p.GetDouble() : null);
    }

    [Fact]
    public void ToAnthropic_WhitespaceStopSequences_LeftOut()
    {
        var written = Write(AnthropicFormat.Instance, Read(Chat, """{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["\n"," ","END"]}"""));

        Assert.Equal(["END"], written.GetProperty("stop_sequences").EnumerateArray().Select(s => s.GetString()!));
    }

    [Fact]
    public void ToAnthropic_OnlyWhitespaceStopSequences_NoField()
    {
        var written = Write(AnthropicFormat.Instance, Read(Chat, """{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"\n"}"""));

        Assert.False(written.TryGetProperty("stop_sequences", out _));
    }

    [Theory]
    [InlineData("openai-chat", "stop", 4)]
    [InlineData("gemini", "stopSequences", 5)]
    public void FromAnthropic_SixStopSequences_AsManyAsTheUpstreamTakes(string upstream, string field, int kept)
    {
        var request = Read(AnthropicFormat.Instance, """{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"hi"}],"stop_sequences":["a","b","c","d","e","f"]}""");

        var written = Write(upstream == "gemini" ? GeminiFormat.Instance : Chat, request);

        var stops = upstream == "gemini" ? written.GetProperty("generationConfig").GetProperty(field) : written.GetProperty(field);
        Assert.Equal(new[] { "a", "b", "c", "d", "e", "f" }[..kept], stops.EnumerateArray().Select(s => s.GetString()!));
    }

    [Fact]
    public void FromAnthropicStream_CallWithoutArguments_ArgumentsAreAnEmptyObject()
    {
        var (events, error) = AnthropicStreamDecoderTests.Decode("""
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":3,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"now","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: content_block_start
            data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_2","name":"add","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":1}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}

            event: message_stop
            data: {"type":"message_stop"}


            """);

        Assert.Null(error);
        var arguments = events.OfType<ToolArgumentsDelta>().ToList();
        Assert.Equal([(0, "{}"), (1, "{\"a\":1}")], arguments.Select(a => (a.Index, a.PartialJson)));
    }

    [Fact]
    public void FromAnthropic_ContextWindowExceeded_CutShort()
    {
        Assert.Equal(StopReason.MaxTokens, AnthropicWire.ReadStopReason("model_context_window_exceeded"));
        Assert.Equal("length", OpenAIChatWire.WriteFinishReason(AnthropicWire.ReadStopReason("model_context_window_exceeded")));
    }

    private const string ForcedCallAnswer = """
        {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt","choices":[{"index":0,"message":{"role":"assistant","content":null,
         "tool_calls":[{"id":"call_1","type":"function","function":{"name":"now","arguments":"{}"}}]},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}
        """;

    [Fact]
    public void FromOpenAI_ForcedCallFinishedWithStop_ReadAsToolUse()
    {
        var answer = Chat.ReadResponse(Parse(ForcedCallAnswer));

        Assert.Equal(StopReason.ToolUse, answer.Value!.StopReason);
        Assert.Equal(StopReason.ToolUse, Chat.MeterResponse(Encoding.UTF8.GetBytes(ForcedCallAnswer))!.Value.StopReason);
    }

    [Fact]
    public void FromOpenAI_PlainAnswerFinishedWithStop_StillEndTurn()
    {
        const string Answer = """{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":[]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}""";

        Assert.Equal(StopReason.EndTurn, Chat.ReadResponse(Parse(Answer)).Value!.StopReason);
        Assert.Equal(StopReason.EndTurn, Chat.MeterResponse(Encoding.UTF8.GetBytes(Answer))!.Value.StopReason);
    }

    [Fact]
    public void FromOpenAIStream_ForcedCallFinishedWithStop_ToolUse()
    {
        var (events, _) = OpenAIChat.OpenAIChatTestSupport.Decode("""
            data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"now","arguments":""}}]}}]}

            data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}

            data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

            data: [DONE]


            """);

        Assert.Equal(StopReason.ToolUse, Assert.Single(events.OfType<MessageFinished>()).StopReason);
    }

    [Fact]
    public void AnthropicMaxTokensZero_HeadReadsIt_TranslationRefusesIt()
    {
        const string Body = """{"model":"claude","max_tokens":0,"messages":[{"role":"user","content":"warm the cache"}]}""";

        Assert.True(AnthropicFormat.Instance.ReadHead(Parse(Body), null, false).IsSuccess);
        var whole = AnthropicFormat.Instance.ReadRequest(Parse(Body), null, false);
        Assert.Equal("max_tokens", whole.Value!.Untranslatable!.Param);
        Assert.StartsWith("max_tokens: 0 (filling the prompt cache without an answer) is only served by Anthropic accounts", whole.Value.Untranslatable.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("openai-chat", """{"model":"m","messages":[{"role":"user","content":"hi"}],"n":2}""", "n")]
    [InlineData("gemini", """{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"candidateCount":3}}""", "generationConfig.candidateCount")]
    public void MoreThanOneChoice_TranslationRefusesIt(string client, string body, string param)
    {
        IChatFormat format = client == "gemini" ? GeminiFormat.Instance : Chat;

        var whole = format.ReadRequest(Parse(body), client == "gemini" ? "gemini-2.5-flash" : null, false);

        // Read, not refused: an account of the client's own format in the pool still serves it.
        Assert.Equal(param, whole.Value!.Untranslatable!.Param);
        Assert.True(format.ReadHead(Parse(body), client == "gemini" ? "gemini-2.5-flash" : null, false).IsSuccess);
    }

    [Fact]
    public void OneChoice_Translated()
    {
        Assert.Null(Read(Chat, """{"model":"m","messages":[{"role":"user","content":"hi"}],"n":1}""").Untranslatable);
        Assert.Null(Read(GeminiFormat.Instance, """{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"candidateCount":1}}""").Untranslatable);
    }
    [Fact]
    public void FromChat_SeedAndPenalties_ReachGeminiAndOpenAI_NotClaude()
    {
        var request = Read(Chat, """{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":42,"presence_penalty":0.5,"frequency_penalty":-0.25}""");

        var gemini = Write(GeminiFormat.Instance, request).GetProperty("generationConfig");
        Assert.Equal(42, gemini.GetProperty("seed").GetInt64());
        Assert.Equal(0.5, gemini.GetProperty("presencePenalty").GetDouble());
        Assert.Equal(-0.25, gemini.GetProperty("frequencyPenalty").GetDouble());
        var chat = Write(Chat, request);
        Assert.Equal(42, chat.GetProperty("seed").GetInt64());
        Assert.Equal(-0.25, chat.GetProperty("frequency_penalty").GetDouble());
        var claude = Write(AnthropicFormat.Instance, request);
        Assert.False(claude.TryGetProperty("seed", out _));
        Assert.False(claude.TryGetProperty("presence_penalty", out _));
    }

    [Fact]
    public void FromGemini_SamplingSettings_ReachOpenAIAndClaude()
    {
        var request = Read(GeminiFormat.Instance, """{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"topK":40,"seed":7,"presencePenalty":0.1,"frequencyPenalty":0.2}}""");

        var chat = Write(Chat, request);
        Assert.Equal(7, chat.GetProperty("seed").GetInt64());
        Assert.Equal(0.1, chat.GetProperty("presence_penalty").GetDouble());
        Assert.Equal(0.2, chat.GetProperty("frequency_penalty").GetDouble());
        Assert.False(chat.TryGetProperty("top_k", out _));
        Assert.Equal(40, Write(AnthropicFormat.Instance, request).GetProperty("top_k").GetInt32());
    }

    [Fact]
    public void FromAnthropic_TopK_ReachesGemini_NotClaudeWithThinking()
    {
        var plain = Read(AnthropicFormat.Instance, """{"model":"m","max_tokens":9,"top_k":5,"messages":[{"role":"user","content":"hi"}]}""");
        var thinking = Read(AnthropicFormat.Instance, """{"model":"m","max_tokens":9000,"top_k":5,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(5, Write(GeminiFormat.Instance, plain).GetProperty("generationConfig").GetProperty("topK").GetInt32());
        Assert.Equal(5, Write(AnthropicFormat.Instance, plain).GetProperty("top_k").GetInt32());
        Assert.False(Write(AnthropicFormat.Instance, thinking).TryGetProperty("top_k", out _));
    }

    [Theory]
    [InlineData("openai-chat", """{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":"x"}""", "seed: must be an integer")]
    [InlineData("openai-chat", """{"model":"m","messages":[{"role":"user","content":"hi"}],"presence_penalty":true}""", "presence_penalty: must be a number")]
    [InlineData("anthropic", """{"model":"m","max_tokens":9,"top_k":1.5,"messages":[{"role":"user","content":"hi"}]}""", "top_k: must be an integer")]
    [InlineData("gemini", """{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"seed":"x"}}""", "generationConfig.seed: must be an integer")]
    public void SamplingSettingOfTheWrongType_RefusedNamingIt(string client, string body, string message)
    {
        IChatFormat format = client switch { "gemini" => GeminiFormat.Instance, "anthropic" => AnthropicFormat.Instance, _ => Chat };

        var whole = format.ReadRequest(Parse(body), client == "gemini" ? "gemini-2.5-flash" : null, false);

        Assert.Equal(message, whole.Error!.Message);
    }
    [Fact]
    public void ToChat_ImageInAToolResult_FollowsInAUserMessageNamingItsCall()
    {
        var request = Read(AnthropicFormat.Instance, """
            {"model":"m","max_tokens":99,"messages":[{"role":"user","content":"look"},
             {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"screenshot","input":{}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"taken"},
               {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
              {"type":"text","text":"what do you see?"}]}]}
            """);

        var messages = Write(Chat, request).GetProperty("messages");

        // The Anthropic reader puts the results in a tool turn and the user's own words in the next.
        Assert.True(5 == messages.GetArrayLength(), messages.GetRawText());
        Assert.Equal("tool", messages[2].GetProperty("role").GetString());
        Assert.Equal("taken", messages[2].GetProperty("content").GetString());
        Assert.Equal("user", messages[3].GetProperty("role").GetString());
        var parts = messages[3].GetProperty("content");
        Assert.Equal(2, parts.GetArrayLength());
        Assert.Equal("Returned by tool call toolu_1:", parts[0].GetProperty("text").GetString());
        Assert.Equal("data:image/png;base64,iVBORw0KGgo=", parts[1].GetProperty("image_url").GetProperty("url").GetString());
        Assert.Equal("what do you see?", messages[4].GetProperty("content").GetString());
    }
}
