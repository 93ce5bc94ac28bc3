using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;

namespace Serverless.Tests.Formats.Json;

/// <summary>
/// A long same-format answer is metered from a <see cref="JsonSkeleton"/> of it: the copy must keep what metering
/// reads (so each format meters the skeleton exactly as the whole answer), hold none of the long text, and read the
/// same however the answer was split into reads.
/// </summary>
public sealed class JsonSkeletonTests
{
    /// <summary>About 240 KB, with every kind of escape and multi-byte UTF-8 the answer's text may carry.</summary>
    private static readonly string LongText = string.Concat(Enumerable.Range(0, 6_000).Select(i => $"w{i} \"quoted\" back\\slash é 漢字 😀\n\t"));

    /// <summary>Non-ASCII text kept as UTF-8 (as most upstreams send it), so that reads split its sequences.</summary>
    private static readonly JsonSerializerOptions AsUtf8 = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string Escaped = JsonSerializer.Serialize(LongText, AsUtf8);

    /// <summary>Answers in each format's own shape: long strings (<c>@TEXT@</c>) where the content goes, short ones where metering reads.</summary>
    private static readonly Dictionary<string, (IChatFormat Format, string Answer)> Answers = new()
    {
        ["openai-chat text"] = (OpenAIChatFormat.Default,
            """{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":@TEXT@},"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":26,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":5},"completion_tokens_details":{"reasoning_tokens":2}}}""".Replace("@TEXT@", Escaped, StringComparison.Ordinal)),
        ["openai-chat tool call"] = (OpenAIChatFormat.Default,
            """{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"write","arguments":@TEXT@}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":3000}}""".Replace("@TEXT@", Escaped, StringComparison.Ordinal)),
        ["responses"] = (OpenAIResponsesFormat.Instance,
            """{"id":"resp_1","object":"response","created_at":1741290958,"status":"completed","model":"gpt-4.1","output":[{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":@TEXT@},{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":@TEXT@,"annotations":[]}]}],"usage":{"input_tokens":26,"input_tokens_details":{"cached_tokens":5},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":33},"user":null,"metadata":{"usage":"not this one"}}""".Replace("@TEXT@", Escaped, StringComparison.Ordinal)),
        ["anthropic"] = (AnthropicFormat.Instance,
            """{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"thinking","thinking":@TEXT@,"signature":@TEXT@},{"type":"tool_use","id":"toolu_1","name":"save","input":{"usage":{"input_tokens":999},"text":@TEXT@}},{"type":"text","text":@TEXT@}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":21,"cache_creation_input_tokens":3,"cache_read_input_tokens":5,"output_tokens":7}}""".Replace("@TEXT@", Escaped, StringComparison.Ordinal)),
        ["gemini, pretty-printed as Google sends it"] = (GeminiFormat.Instance,
            JsonNode.Parse("""{"candidates":[{"content":{"role":"model","parts":[{"text":@TEXT@,"thought":true},{"text":@TEXT@},{"functionCall":{"name":"save","args":{"text":@TEXT@}}}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":26,"candidatesTokenCount":7,"totalTokenCount":40,"cachedContentTokenCount":5,"thoughtsTokenCount":7},"modelVersion":"gemini-2.5-flash","responseId":"r1"}""".Replace("@TEXT@", Escaped, StringComparison.Ordinal))!
                .ToJsonString(new JsonSerializerOptions(AsUtf8) { WriteIndented = true })),
    };

    public static TheoryData<string> AnswerNames() => new(Answers.Keys);

    [Theory]
    [MemberData(nameof(AnswerNames))]
    public void Skeleton_OfEachFormatsLongAnswer_MetersAsTheWholeAnswerAndHoldsNoneOfItsText(string name)
    {
        var (format, answer) = Answers[name];
        var bytes = Encoding.UTF8.GetBytes(answer);
        using var skeleton = Build(bytes, readBytes: 16 * 1024);

        var whole = format.MeterResponse(bytes);
        var metered = format.MeterResponse(skeleton.Written);

        Assert.NotNull(whole);
        Assert.True(whole.Value.Usage.OutputTokens > 0);
        Assert.Equal(whole, metered);
        Assert.True(skeleton.Written.Length < 2_000, $"{bytes.Length} bytes of answer kept {skeleton.Written.Length}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1021)]
    [InlineData(16 * 1024)]
    public void Skeleton_SplitAnywhere_TheSameCopy(int readBytes)
    {
        var bytes = Encoding.UTF8.GetBytes(Answers["anthropic"].Answer);
        using var atOnce = Build(bytes, readBytes: bytes.Length);

        using var split = Build(bytes, readBytes);

        Assert.Equal(Encoding.UTF8.GetString(atOnce.Written.Span), Encoding.UTF8.GetString(split.Written.Span));
    }

    [Fact]
    public void Skeleton_ShortStringsAndStructureKept_LongStringsEmptied_WhitespaceRunsOneSpace()
    {
        var kept = new string('k', JsonSkeleton.KeptStringBytes - 2) + "\\\""; // exactly at the bound, ending in an escaped quote
        var json = $$"""
            {
              "short": "a \"b\" \\ \u00e9 é",
              "kept": "{{kept}}",
              "long": "{{kept}}x",
              "{{new string('n', JsonSkeleton.KeptStringBytes + 1)}}": [1, -2.5e3, true, false, null, {}, []]
            }
            """;

        using var skeleton = Build(Encoding.UTF8.GetBytes(json), readBytes: 7);
        var copy = Encoding.UTF8.GetString(skeleton.Written.Span);

        Assert.Equal($$"""{ "short": "a \"b\" \\ \u00e9 é", "kept": "{{kept}}", "long": "", "": [1, -2.5e3, true, false, null, {}, []] }""", copy);
        using var document = JsonDocument.Parse(skeleton.Written);
        Assert.Equal("a \"b\" \\ é é", document.RootElement.GetProperty("short").GetString());
    }

    [Theory]
    [InlineData("""[1 2]""")]
    [InlineData("""{"a":"b" "c":1}""")]
    [InlineData("""{"a":"unterminated""")]
    public void Skeleton_OfInvalidJson_StillInvalid(string json)
    {
        using var skeleton = Build(Encoding.UTF8.GetBytes(json), readBytes: 1);

        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(skeleton.Written));
    }

    [Fact]
    public void Skeleton_StructurePastTheBound_Overflows_HoldsNoMore()
    {
        // Numbers are structure: an answer of nothing else is kept whole up to the bound.
        var json = "[" + string.Join(",", Enumerable.Range(0, 10_000)) + "]";

        using var skeleton = Build(Encoding.UTF8.GetBytes(json), readBytes: 100, maxBytes: 4_096);
        using var roomy = Build(Encoding.UTF8.GetBytes(json), readBytes: 100, maxBytes: json.Length);

        Assert.True(skeleton.Overflowed);
        Assert.True(skeleton.Written.Length <= 4_096);
        Assert.False(roomy.Overflowed);
        Assert.Equal(json, Encoding.UTF8.GetString(roomy.Written.Span));
    }

    private static JsonSkeleton Build(byte[] bytes, int readBytes, long maxBytes = 64 * 1024 * 1024)
    {
        var skeleton = new JsonSkeleton(maxBytes);
        for (var at = 0; at < bytes.Length; at += readBytes)
        {
            skeleton.Append(bytes.AsSpan(at, Math.Min(readBytes, bytes.Length - at)));
        }

        return skeleton;
    }
}
