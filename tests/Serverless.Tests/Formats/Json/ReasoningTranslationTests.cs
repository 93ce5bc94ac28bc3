using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;

namespace Serverless.Tests.Formats.Json;

/// <summary>
/// Reasoning settings through every translation: each client format's way of asking for thinking is read into the
/// canonical request and written in each upstream format's own fields, within what each upstream accepts.
/// </summary>
public sealed class ReasoningTranslationTests
{
    private const string Hi = """[{"role":"user","content":"hi"}]""";
    private const string GeminiHi = """[{"role":"user","parts":[{"text":"hi"}]}]""";
    private const string Schema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""";

    private static readonly Dictionary<string, IChatFormat> Formats = new()
    {
        ["openai-chat"] = OpenAIChatFormat.Default,
        ["responses"] = OpenAIResponsesFormat.Instance,
        ["anthropic"] = AnthropicFormat.Instance,
        ["gemini"] = GeminiFormat.Instance,
    };

    // Each client asking for high-effort thinking in its own words; Anthropic and Gemini say it as a 4096-token budget
    // and want the thinking back.
    private static readonly Dictionary<string, string> HighRequests = new()
    {
        ["openai-chat"] = """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"high"}""",
        ["responses"] = """{"model":"m","input":"hi","reasoning":{"effort":"high","summary":"detailed"}}""",
        ["anthropic"] = """{"model":"m","max_tokens":16000,"messages":""" + Hi + ""","thinking":{"type":"enabled","budget_tokens":4096}}""",
        ["gemini"] = """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":4096,"includeThoughts":true}}}""",
    };

    public static TheoryData<string, string, string> HighMatrix() => new()
    {
        // OpenAI has no budget: 4096 tokens is LiteLLM's high.
        { "openai-chat", "openai-chat", """{"reasoning_effort":"high"}""" },
        { "responses", "openai-chat", """{"reasoning_effort":"high"}""" },
        { "anthropic", "openai-chat", """{"reasoning_effort":"high"}""" },
        { "gemini", "openai-chat", """{"reasoning_effort":"high"}""" },

        // Responses asks for a summary when the client wants the thinking back.
        { "openai-chat", "responses", """{"reasoning":{"effort":"high"}}""" },
        { "responses", "responses", """{"reasoning":{"effort":"high","summary":"auto"}}""" },
        { "anthropic", "responses", """{"reasoning":{"effort":"high","summary":"auto"}}""" },
        { "gemini", "responses", """{"reasoning":{"effort":"high","summary":"auto"}}""" },

        // A budget model: high is LiteLLM's 4096; without a client max_tokens it comes on top of the default 4096.
        { "openai-chat", "anthropic", """{"max_tokens":8192,"thinking":{"type":"enabled","budget_tokens":4096}}""" },
        { "responses", "anthropic", """{"max_tokens":8192,"thinking":{"type":"enabled","budget_tokens":4096}}""" },
        { "anthropic", "anthropic", """{"max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":4096}}""" },
        { "gemini", "anthropic", """{"max_tokens":8192,"thinking":{"type":"enabled","budget_tokens":4096}}""" },

        // Gemini 2.5: an effort is Google's own budget for it (high 24576), a budget stays itself.
        { "openai-chat", "gemini", """{"thinkingConfig":{"thinkingBudget":24576}}""" },
        { "responses", "gemini", """{"thinkingConfig":{"thinkingBudget":24576,"includeThoughts":true}}""" },
        { "anthropic", "gemini", """{"thinkingConfig":{"thinkingBudget":4096,"includeThoughts":true}}""" },
        { "gemini", "gemini", """{"thinkingConfig":{"thinkingBudget":4096,"includeThoughts":true}}""" },
    };

    [Theory]
    [MemberData(nameof(HighMatrix))]
    public void Translate_HighEffort_UpstreamGetsItInItsOwnFields(string client, string upstream, string expected)
    {
        Assert.Equal(expected, ReasoningFieldsOf(Translate(client, HighRequests[client], upstream, "upstream-model"), upstream));
    }

    [Theory]
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"low"}""", """{"thinkingConfig":{"thinkingLevel":"low"}}""")]
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"medium"}""", """{"thinkingConfig":{"thinkingLevel":"high"}}""")]
    [InlineData("anthropic", """{"model":"m","max_tokens":9000,"messages":""" + Hi + ""","thinking":{"type":"adaptive"},"output_config":{"effort":"low"}}""", """{"thinkingConfig":{"thinkingLevel":"low","includeThoughts":true}}""")]
    [InlineData("anthropic", """{"model":"m","max_tokens":9000,"messages":""" + Hi + ""","thinking":{"type":"disabled"}}""", """{"thinkingConfig":{"thinkingLevel":"low"}}""")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":2048}}}""", """{"thinkingConfig":{"thinkingBudget":2048}}""")]
    public void Translate_ToGemini3_EffortGoesAsThinkingLevel(string client, string body, string expected)
    {
        Assert.Equal(expected, ReasoningFieldsOf(Translate(client, body, "gemini", "gemini-3-pro-preview"), "gemini"));
    }

    // Without a client max_tokens, what the request asks for (Sonnet 4.5's 64K, up to 32,000) holds thinking and answer.
    [Theory]
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"minimal"}""", """{"max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":1024}}""")]
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"xhigh"}""", """{"max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":8192}}""")]
    [InlineData("anthropic", """{"model":"m","max_tokens":20000,"messages":""" + Hi + ""","thinking":{"type":"adaptive"},"output_config":{"effort":"max"}}""", """{"max_tokens":20000,"thinking":{"type":"enabled","budget_tokens":16384}}""")]

    // The model sizes its thinking (Gemini -1): a budget model gets medium.
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":-1}}}""", """{"max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":2048}}""")]

    // The client's max_tokens bounds thinking and answer together: kept, and the budget clamped below it.
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"high","max_completion_tokens":2000}""", """{"max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1999}}""")]

    // ... or no thinking when it leaves no room for Anthropic's minimum budget of 1024.
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"high","max_completion_tokens":1024}""", """{"max_tokens":1024}""")]

    // A Gemini budget below Anthropic's minimum is raised to it.
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":300}}}""", """{"max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":1024}}""")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}""", """{"max_tokens":32000,"thinking":{"type":"disabled"}}""")]

    // A Gemini budget as large as what the request asks for (2.5 Pro's 32,768) leaves the answer the default's room.
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":32768}}}""", """{"max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":27904}}""")]
    public void Translate_ToAnthropicBudgetModel_WritesAnAcceptedBudget(string client, string body, string expected)
    {
        Assert.Equal(expected, ReasoningFieldsOf(Translate(client, body, "anthropic", "claude-sonnet-4-5-20250929"), "anthropic"));
    }

    [Theory]
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"medium"}""", """{"max_tokens":32000,"thinking":{"type":"adaptive"},"output_config":{"effort":"medium"}}""")]
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"xhigh"}""", """{"max_tokens":32000,"thinking":{"type":"adaptive"},"output_config":{"effort":"max"}}""")]

    // A budget becomes the effort it stands for: Opus 4.7 refuses budget_tokens.
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":1500}}}""", """{"max_tokens":32000,"thinking":{"type":"adaptive"},"output_config":{"effort":"medium"}}""")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":-1}}}""", """{"max_tokens":32000,"thinking":{"type":"adaptive"}}""")]

    // Structured output and effort share the one output_config.
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"low","response_format":{"type":"json_schema","json_schema":{"name":"p","schema":""" + Schema + """}}}""",
        """{"max_tokens":32000,"thinking":{"type":"adaptive"},"output_config":{"format":{"type":"json_schema","schema":""" + Schema + """},"effort":"low"}}""")]
    public void Translate_ToAnthropicAdaptiveModel_WritesAdaptiveWithEffort(string client, string body, string expected)
    {
        Assert.Equal(expected, ReasoningFieldsOf(Translate(client, body, "anthropic", "claude-opus-4-7"), "anthropic"));
    }

    [Theory]
    [InlineData("claude-opus-4-7", true)]
    [InlineData("claude-opus-4-6", true)]
    [InlineData("claude-sonnet-4-6", true)]
    [InlineData("claude-sonnet-5", true)]
    [InlineData("anthropic.claude-opus-4-7", true)]
    [InlineData("claude-opus-4-6-v1", true)]
    [InlineData("claude-sonnet-4-5-20250929", false)]
    [InlineData("claude-haiku-4-5-20251001", false)]
    [InlineData("claude-opus-4-1-20250805", false)]
    [InlineData("claude-sonnet-4-20250514", false)]
    [InlineData("claude-3-7-sonnet-20250219", false)]
    [InlineData("glm-4.6", false)]
    [InlineData("claude-test", false)]
    public void TakesAdaptiveThinking_ModelName_ByClaudeVersion(string model, bool expected)
    {
        Assert.Equal(expected, AnthropicRequestWriter.TakesAdaptiveThinking(model));
    }

    [Fact]
    public void Translate_ThinkingToAnthropic_DropsSamplingItWouldRefuse()
    {
        var written = Translate("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"low","temperature":0.7,"top_p":0.9}""", "anthropic", "claude-sonnet-4-5");

        Assert.False(written.TryGetProperty("temperature", out _));
        Assert.False(written.TryGetProperty("top_p", out _));
        Assert.Equal("enabled", written.GetProperty("thinking").GetProperty("type").GetString());
    }

    [Fact]
    public void Translate_ThinkingToAnthropic_KeepsTemperatureOne()
    {
        var written = Translate("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"low","temperature":1,"top_p":0.95}""", "anthropic", "claude-sonnet-4-5");

        // Claude 4.5 and later refuse temperature and top_p together: the temperature is the one kept.
        Assert.Equal(1, written.GetProperty("temperature").GetDouble());
        Assert.False(written.TryGetProperty("top_p", out _));
    }

    [Fact]
    public void Translate_ThinkingToAnthropic_KeepsHighTopPAlone()
    {
        var written = Translate("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"low","top_p":0.95}""", "anthropic", "claude-sonnet-4-5");

        Assert.Equal(0.95, written.GetProperty("top_p").GetDouble());
    }

    [Fact]
    public void Translate_NoThinkingToAnthropic_KeepsSampling()
    {
        var written = Translate("openai-chat", """{"model":"m","messages":""" + Hi + ""","temperature":0.7}""", "anthropic", "claude-sonnet-4-5");

        Assert.Equal(0.7, written.GetProperty("temperature").GetDouble());
        Assert.False(written.TryGetProperty("thinking", out _));
    }

    [Fact]
    public void Translate_ForcedToolToAnthropic_GoesWithoutThinking()
    {
        var written = Translate("openai-chat", """
            {"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high",
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required"}
            """, "anthropic", "claude-sonnet-4-5");

        Assert.False(written.TryGetProperty("thinking", out _));
        Assert.Equal("""{"type":"any"}""", written.GetProperty("tool_choice").GetRawText());
    }

    [Fact]
    public void Translate_ToolCallsWithoutThinkingToAnthropic_GoesWithoutThinking()
    {
        var written = Translate("openai-chat", """
            {"model":"m","reasoning_effort":"high","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
             "messages":[{"role":"user","content":"hi"},
               {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
               {"role":"tool","tool_call_id":"c1","content":"ok"}]}
            """, "anthropic", "claude-sonnet-4-5");

        Assert.False(written.TryGetProperty("thinking", out _));
    }

    [Fact]
    public void Translate_ToolCallsAfterSignedThinkingToAnthropic_KeepsThinking()
    {
        var written = Translate("anthropic", """
            {"model":"m","max_tokens":8000,"thinking":{"type":"enabled","budget_tokens":2000},
             "tools":[{"name":"f","input_schema":{"type":"object"}}],
             "messages":[{"role":"user","content":"hi"},
               {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"tool_use","id":"c1","name":"f","input":{}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"ok"}]}]}
            """, "anthropic", "claude-sonnet-4-5");

        Assert.Equal("""{"type":"enabled","budget_tokens":2000}""", written.GetProperty("thinking").GetRawText());
    }

    /// <summary>
    /// OpenAI's newest effort, <c>max</c>, is read from both OpenAI formats and written as each upstream's highest that
    /// every model of it takes: <c>xhigh</c> to OpenAI (older models refuse <c>max</c>), Anthropic's <c>max</c> or its
    /// largest budget, Gemini's highest budget or level.
    /// </summary>
    [Theory]
    [InlineData("openai-chat", "openai-chat", "o3", """{"reasoning_effort":"xhigh"}""")]
    [InlineData("responses", "openai-chat", "o3", """{"reasoning_effort":"xhigh"}""")]
    [InlineData("openai-chat", "responses", "gpt-5", """{"reasoning":{"effort":"xhigh"}}""")]
    [InlineData("openai-chat", "anthropic", "claude-opus-4-7", """{"max_tokens":32000,"thinking":{"type":"adaptive"},"output_config":{"effort":"max"}}""")]
    [InlineData("responses", "anthropic", "claude-sonnet-4-5-20250929", """{"max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":16384}}""")]
    [InlineData("openai-chat", "gemini", "gemini-2.5-pro", """{"thinkingConfig":{"thinkingBudget":24576}}""")]
    [InlineData("responses", "gemini", "gemini-3-pro-preview", """{"thinkingConfig":{"thinkingLevel":"high"}}""")]
    public void Translate_MaxEffort_EachUpstreamGetsItsHighestItTakes(string client, string upstream, string upstreamModel, string expected)
    {
        var body = client == "responses"
            ? """{"model":"m","input":"hi","reasoning":{"effort":"max"}}"""
            : """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"max"}""";

        Assert.Equal(ReasoningEffort.Max, Read(client, body).Reasoning!.Effort);
        Assert.Equal(expected, ReasoningFieldsOf(Translate(client, body, upstream, upstreamModel), upstream));
    }

    [Theory]
    // Gemini CLI's placeholder on a call no model signed, and on the thought it makes up after a tool read a file.
    [InlineData("""[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"skip_thought_signature_validator"}]""")]
    [InlineData("""[{"text":"Binary content received.","thought":true,"thoughtSignature":"skip_thought_signature_validator"},{"functionCall":{"name":"f","args":{}}}]""")]
    public void Translate_GeminiSkipSignaturePlaceholderToAnthropic_NoThinkingBlockAndGoesWithoutThinking(string modelParts)
    {
        var written = Translate("gemini", """
            {"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":@PARTS@},
               {"role":"user","parts":[{"functionResponse":{"name":"f","response":{"result":"ok"}}}]}],
             "tools":[{"functionDeclarations":[{"name":"f"}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":4096,"includeThoughts":true}}}
            """.Replace("@PARTS@", modelParts, StringComparison.Ordinal), "anthropic", "claude-sonnet-4-5");

        // The placeholder is no signature: Anthropic refuses it in a thinking block, and the call is unsigned.
        Assert.DoesNotContain("skip_thought_signature_validator", written.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("\"type\":\"thinking\"", written.GetProperty("messages").GetRawText(), StringComparison.Ordinal);
        Assert.False(written.TryGetProperty("thinking", out _));
    }

    [Theory]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","thinking":{"type":"disabled"}}""")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}""")]
    public void Translate_ThinkingOffToOpenAI_SendsNoEffort(string client, string body)
    {
        // "none" exists only from gpt-5.1 on (o3 and gpt-5 refuse it): it stays out.
        Assert.Null(ReasoningFieldsOf(Translate(client, body, "openai-chat", "o3"), "openai-chat"));
        Assert.Null(ReasoningFieldsOf(Translate(client, body, "responses", "gpt-5"), "responses"));
    }

    [Theory]
    [InlineData("gpt-4o", false)]
    [InlineData("openai/gpt-4.1-mini", false)]
    [InlineData("gpt-35-turbo", false)]
    [InlineData("o3", true)]
    [InlineData("gpt-5.1", true)]
    [InlineData("deepseek-reasoner", true)]
    public void Translate_ThinkingToOpenAI_NotToModelsThatRefuseReasoning(string upstreamModel, bool sent)
    {
        const string Body = """{"model":"m","max_tokens":8000,"messages":""" + Hi + ""","thinking":{"type":"enabled","budget_tokens":4000}}""";

        Assert.Equal(sent, ReasoningFieldsOf(Translate("anthropic", Body, "openai-chat", upstreamModel), "openai-chat") is not null);
        Assert.Equal(sent, ReasoningFieldsOf(Translate("anthropic", Body, "responses", upstreamModel), "responses") is not null);
    }

    [Fact]
    public void Translate_ThinkingOffToGemini25_SendsZeroBudget()
    {
        var written = Translate("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","thinking":{"type":"disabled"}}""", "gemini", "gemini-2.5-flash");

        Assert.Equal("""{"thinkingConfig":{"thinkingBudget":0}}""", ReasoningFieldsOf(written, "gemini"));
    }

    [Theory]
    [InlineData("HIGH", "high")]
    [InlineData("low", "low")]
    [InlineData("minimal", "minimal")]
    public void Translate_GeminiThinkingLevelToChat_SameEffort(string level, string expected)
    {
        var written = Translate("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingLevel":"LEVEL"}}}""".Replace("LEVEL", level, StringComparison.Ordinal), "openai-chat", "gpt-5");

        Assert.Equal($$"""{"reasoning_effort":"{{expected}}"}""", ReasoningFieldsOf(written, "openai-chat"));
    }

    [Theory]
    [InlineData("""{"type":"adaptive","display":"omitted"}""", """{"reasoning":{"effort":"high"}}""")]
    [InlineData("""{"type":"adaptive"}""", """{"reasoning":{"effort":"high","summary":"auto"}}""")]
    public void Translate_AnthropicAdaptiveToResponses_SummaryUnlessOmitted(string thinking, string expected)
    {
        var body = """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","thinking":""" + thinking + ""","output_config":{"effort":"high"}}""";

        Assert.Equal(expected, ReasoningFieldsOf(Translate("anthropic", body, "responses", "gpt-5"), "responses"));
    }

    [Theory]
    [InlineData("openai-chat", """{"type":"json_schema","json_schema":{"name":"response","schema":""" + Schema + "}}")]
    [InlineData("responses", """{"format":{"type":"json_schema","name":"response","schema":""" + Schema + "}}")]
    [InlineData("gemini", """{"responseMimeType":"application/json","responseJsonSchema":""" + Schema + "}")]
    public void Translate_AnthropicOutputConfigFormat_UpstreamGetsTheSchema(string upstream, string expected)
    {
        var body = """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","output_config":{"effort":"low","format":{"type":"json_schema","schema":""" + Schema + "}}}";
        var written = Translate("anthropic", body, upstream, "upstream-model");

        var actual = upstream switch
        {
            "openai-chat" => written.GetProperty("response_format").GetRawText(),
            "responses" => written.GetProperty("text").GetRawText(),
            _ => "{" + string.Join(",", written.GetProperty("generationConfig").EnumerateObject()
                .Where(p => p.Name.StartsWith("response", StringComparison.Ordinal)).Select(p => $"\"{p.Name}\":{p.Value.GetRawText()}")) + "}",
        };
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":"maximum"}""", "reasoning_effort: must be one of none, minimal, low, medium, high, xhigh, max", "reasoning_effort")]
    [InlineData("openai-chat", """{"model":"m","messages":""" + Hi + ""","reasoning_effort":2}""", "reasoning_effort: must be one of none, minimal, low, medium, high, xhigh, max", "reasoning_effort")]
    [InlineData("responses", """{"model":"m","input":"hi","reasoning":"high"}""", "reasoning: must be an object", "reasoning")]
    [InlineData("responses", """{"model":"m","input":"hi","reasoning":{"effort":"extreme"}}""", "reasoning.effort: must be one of none, minimal, low, medium, high, xhigh, max", "reasoning.effort")]
    [InlineData("responses", """{"model":"m","input":"hi","reasoning":{"summary":"short"}}""", "reasoning.summary: must be one of auto, concise, detailed", "reasoning.summary")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","thinking":true}""", "thinking: must be an object", "thinking")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","thinking":{"budget_tokens":2000}}""", "thinking.type: field required", "thinking")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","thinking":{"type":"on"}}""", "thinking.type: must be one of enabled, disabled, adaptive", "thinking")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","thinking":{"type":"enabled"}}""", "thinking.budget_tokens: field required", "thinking")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","thinking":{"type":"enabled","budget_tokens":512}}""", "thinking.budget_tokens: must be an integer of at least 1024", "thinking")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","thinking":{"type":"enabled","budget_tokens":"2000"}}""", "thinking.budget_tokens: must be an integer of at least 1024", "thinking")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","output_config":[]}""", "output_config: must be an object", "output_config")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","output_config":{"effort":"minimal"}}""", "output_config.effort: must be one of low, medium, high, xhigh, max", "output_config")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","output_config":{"format":{"type":"json_object"}}}""", "output_config.format.type: must be json_schema", "output_config")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","output_config":{"format":{"type":"json_schema"}}}""", "output_config.format.schema: field required", "output_config")]
    [InlineData("anthropic", """{"model":"m","max_tokens":100,"messages":""" + Hi + ""","output_config":{"format":{"type":"json_schema","schema":"x"}}}""", "output_config.format.schema: must be an object", "output_config")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":5}}""", "generationConfig.thinkingConfig: must be an object", "generationConfig.thinkingConfig")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":-2}}}""", "generationConfig.thinkingConfig.thinkingBudget: must be an integer of at least -1", "generationConfig.thinkingConfig.thinkingBudget")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingBudget":1.5}}}""", "generationConfig.thinkingConfig.thinkingBudget: must be an integer of at least -1", "generationConfig.thinkingConfig.thinkingBudget")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingLevel":"max"}}}""", "generationConfig.thinkingConfig.thinkingLevel: must be one of minimal, low, medium, high", "generationConfig.thinkingConfig.thinkingLevel")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"thinkingLevel":"low","thinkingBudget":100}}}""", "generationConfig.thinkingConfig: thinkingBudget and thinkingLevel cannot both be set", "generationConfig.thinkingConfig")]
    [InlineData("gemini", """{"contents":""" + GeminiHi + ""","generationConfig":{"thinkingConfig":{"includeThoughts":"yes"}}}""", "generationConfig.thinkingConfig.includeThoughts: must be a boolean", "generationConfig.thinkingConfig.includeThoughts")]
    public void ReadRequest_BadReasoning_InvalidNamingTheField(string client, string body, string message, string param)
    {
        var result = Formats[client].ReadRequest(Parse(body), client == "gemini" ? "gemini-2.5-flash" : null, false);

        Assert.False(result.IsSuccess);
        Assert.Equal(message, result.Error!.Message);
        Assert.Equal(param, result.Error.Param);
    }

    [Theory]
    [InlineData("""{"effort":"none"}""", """{"effort":"none","summary":null}""")]
    [InlineData("""{"effort":"low","summary":"concise"}""", """{"effort":"low","summary":"auto"}""")]
    [InlineData("""{"effort":"max"}""", """{"effort":"max","summary":null}""")]
    [InlineData("""{}""", """{"effort":null,"summary":null}""")]
    public void WriteResponse_Responses_EchoesTheReasoningAskedFor(string reasoning, string expected)
    {
        var request = Read("responses", """{"model":"m","input":"hi","reasoning":""" + reasoning + "}");
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            OpenAIResponsesFormat.Instance.WriteResponse(new ChatResponse { Id = "resp_1", Model = "m", Content = [new TextPart("x")] }, request, writer);
        }

        Assert.Equal(expected, Parse(Encoding.UTF8.GetString(buffer.WrittenSpan)).GetProperty("reasoning").GetRawText());
    }

    private const string WeatherTurn = """
        {"model":"m","input":[{"role":"user","content":"weather in Paris?"}],"reasoning":{"effort":"high"},"store":false,"include":["reasoning.encrypted_content"],
         "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}
        """;

    private const string ClaudeCallsTheTool = """
        {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":5},
         "content":[{"type":"thinking","thinking":"The user wants weather.","signature":"EqQBCgIYAhIM"},{"type":"text","text":"Checking."},
                    {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]}
        """;

    private const string Gemini3CallsTheTool = """
        {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"}]},"finishReason":"STOP","index":0}],
         "modelVersion":"gemini-3-pro-preview","responseId":"r1"}
        """;

    /// <summary>
    /// A Responses client's tool loop (Codex's) on Claude with thinking: the answer's reasoning item carries Claude's
    /// signature, the client sends it back before the call it preceded, and the next request keeps thinking on with the
    /// thinking block as Claude wrote it (without it, Anthropic would refuse the turn, so thinking went off).
    /// </summary>
    [Fact]
    public void Translate_ResponsesToolLoopOnClaude_ThinkingStaysOnWithItsSignature()
    {
        var output = AnswerToResponses(AnthropicFormat.Instance, ClaudeCallsTheTool, WeatherTurn);

        var written = Translate("responses", NextTurn(WeatherTurn, output, "toolu_1"), "anthropic", "claude-sonnet-4-5");

        Assert.Equal("""{"type":"enabled","budget_tokens":4096}""", written.GetProperty("thinking").GetRawText());
        Assert.Equal(
            """[{"type":"thinking","thinking":"The user wants weather.","signature":"EqQBCgIYAhIM"},{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]""",
            written.GetProperty("messages")[1].GetProperty("content").GetRawText());
    }

    /// <summary>Gemini 3's thought signature on a call goes back on that call, not the placeholder for a call without one.</summary>
    [Fact]
    public void Translate_ResponsesToolLoopOnGemini3_ThoughtSignatureBackOnTheCall()
    {
        var output = AnswerToResponses(GeminiFormat.Instance, Gemini3CallsTheTool, WeatherTurn);

        var written = Translate("responses", NextTurn(WeatherTurn, output, "call_r1_0"), "gemini", "gemini-3-pro-preview");

        var call = Assert.Single(written.GetProperty("contents")[1].GetProperty("parts").EnumerateArray());
        Assert.Equal("c2ln", call.GetProperty("thoughtSignature").GetString());
        Assert.Equal("get_weather", call.GetProperty("functionCall").GetProperty("name").GetString());
    }

    /// <summary>
    /// A signature goes back only to the provider that made it: a turn another upstream answered, or OpenAI's own
    /// encrypted reasoning, leaves its reasoning item out (and Claude then thinks no more than after any unsigned call).
    /// </summary>
    [Theory]
    [InlineData("relay:gemini:c2ln", "anthropic", "claude-sonnet-4-5")]
    [InlineData("gAAAAABo-openai-own", "anthropic", "claude-sonnet-4-5")]
    [InlineData("relay:anthropic:EqQBCgIYAhIM", "gemini", "gemini-3-pro-preview")]
    [InlineData("relay:anthropic:EqQBCgIYAhIM", "openai-chat", "gpt-5")]
    public void Translate_ReasoningSignedForAnotherUpstream_LeftOut(string encryptedContent, string upstream, string upstreamModel)
    {
        var body = """
            {"model":"m","reasoning":{"effort":"high"},"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}],
             "input":[{"role":"user","content":"weather in Paris?"},
               {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"The user wants weather."}],"encrypted_content":"CONTENT"},
               {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"},
               {"type":"function_call_output","call_id":"call_1","output":"18C"}]}
            """.Replace("CONTENT", encryptedContent, StringComparison.Ordinal);

        var written = Translate("responses", body, upstream, upstreamModel);

        var turn = upstream switch
        {
            "anthropic" => written.GetProperty("messages")[1].GetProperty("content").GetRawText(),
            "gemini" => written.GetProperty("contents")[1].GetProperty("parts").GetRawText(),
            _ => written.GetProperty("messages")[1].GetRawText(),
        };
        Assert.DoesNotContain("The user wants weather.", turn, StringComparison.Ordinal);
        Assert.DoesNotContain("EqQB", turn, StringComparison.Ordinal);
        Assert.DoesNotContain("c2ln", turn, StringComparison.Ordinal);
        if (upstream == "anthropic")
        {
            Assert.False(written.TryGetProperty("thinking", out _));
        }
    }

    /// <summary>The answer of <paramref name="upstream"/> (its JSON) written back to the Responses client that asked <paramref name="request"/>: its output items.</summary>
    private static JsonElement AnswerToResponses(IChatFormat upstream, string answer, string request)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            OpenAIResponsesFormat.Instance.WriteResponse(upstream.ReadResponse(Parse(answer)).Value!, Read("responses", request), writer);
        }

        return Parse(Encoding.UTF8.GetString(buffer.WrittenSpan)).GetProperty("output");
    }

    /// <summary>The client's next request: its input so far, the answer's output items as they came, and the call's result.</summary>
    private static string NextTurn(string request, JsonElement output, string callId)
    {
        var body = JsonNode.Parse(request)!.AsObject();
        var input = body["input"]!.AsArray();
        foreach (var item in output.EnumerateArray())
        {
            input.Add(JsonNode.Parse(item.GetRawText()));
        }

        input.Add(new JsonObject { ["type"] = "function_call_output", ["call_id"] = callId, ["output"] = "18C" });
        return body.ToJsonString();
    }

    private static JsonElement Translate(string client, string body, string upstream, string upstreamModel)
    {
        var request = Read(client, body);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Formats[upstream].WriteRequest(request, upstreamModel, writer);
        }

        return Parse(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static ChatRequest Read(string client, string body)
    {
        var result = Formats[client].ReadRequest(Parse(body), client == "gemini" ? "gemini-2.5-flash" : null, false);
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Value!;
    }

    /// <summary>The upstream body's reasoning fields, as one compact object; null when it has none.</summary>
    private static string? ReasoningFieldsOf(JsonElement body, string upstream)
    {
        IEnumerable<JsonProperty> fields = upstream switch
        {
            "openai-chat" => body.EnumerateObject().Where(p => p.Name == "reasoning_effort"),
            "responses" => body.EnumerateObject().Where(p => p.Name == "reasoning"),
            "anthropic" => body.EnumerateObject().Where(p => p.Name is "max_tokens" or "thinking" or "output_config"),
            _ => body.TryGetProperty("generationConfig", out var config) ? config.EnumerateObject().Where(p => p.Name == "thinkingConfig") : [],
        };
        var kept = fields.ToList();
        return kept.Count == 0 ? null : "{" + string.Join(",", kept.Select(p => $"\"{p.Name}\":{p.Value.GetRawText()}")) + "}";
    }

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
