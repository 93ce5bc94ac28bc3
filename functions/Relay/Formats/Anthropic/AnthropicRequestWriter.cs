using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>
/// Writes a <see cref="ChatRequest"/> as a Messages API request body for an Anthropic upstream.
/// </summary>
internal static class AnthropicRequestWriter
{
    /// <summary>
    /// Anthropic requires <c>max_tokens</c>; OpenAI and Gemini clients may leave it out. This is what a model whose
    /// output maximum is not known gets (<see cref="MaxOutputTokensOf"/>): every Claude takes at least this much.
    /// </summary>
    public const int DefaultMaxTokens = 4096;

    /// <summary>
    /// The most a request whose client gave no <c>max_tokens</c> asks for (<see cref="UnaskedMaxTokensOf"/>): Claude
    /// Code's own default, so an account that serves Claude Code takes it.
    /// </summary>
    /// <remarks>
    /// NOTE: not the model's whole maximum (64K, 128K): Anthropic charges a request's <c>max_tokens</c> against the
    /// organisation's output tokens per minute when it starts ("reduce ... the maximum tokens requested" in its 429), so
    /// asking for 128K on every request would refuse them on accounts of the lower tiers.
    /// </remarks>
    public const int UnaskedMaxTokensCeiling = 32_000;

    /// <summary>Anthropic's smallest <c>thinking.budget_tokens</c>.</summary>
    public const int MinThinkingBudget = 1024;

    public static void Write(ChatRequest request, string upstreamModel, Utf8JsonWriter writer)
    {
        // A Responses client may carry back thinking Gemini signed (another upstream answered that turn), whose
        // signature Anthropic would refuse: it is left out before anything looks at the turns.
        request = request.WithoutThinkingSignedElsewhere(ThinkingSigner.Anthropic);
        var thinking = PlanThinking(request, upstreamModel);
        writer.WriteStartObject();
        writer.WriteString("model", upstreamModel);
        writer.WriteNumber("max_tokens", thinking.MaxTokens ?? request.MaxOutputTokens ?? UnaskedMaxTokensOf(upstreamModel));
        WriteSystem(request.System, writer);
        WriteMessages(request.Messages, writer);
        WriteTools(request, writer);

        // NOTE: Anthropic's temperature runs from 0 to 1 and refuses more; OpenAI's and Gemini's run to 2. The most
        // random Claude samples is what a client asking for more than 1 gets. With thinking it refuses any temperature
        // other than 1 and a top_p below 0.95: the thinking the client asked for outweighs sampling settings, which are
        // often an SDK's defaults.
        if (request.Temperature is { } temperature && (!thinking.IsOn || temperature == 1))
        {
            writer.WriteNumber("temperature", Math.Clamp(temperature, 0, 1));
        }

        // NOTE: Claude models since the 4.5 generation refuse temperature and top_p together ("cannot both be
        // specified"), and clients send both by habit (0.7 with 0.95). The temperature is kept: it is what every format has.
        if (request.TopP is { } topP && request.Temperature is null && !(thinking.IsOn && topP < 0.95))
        {
            writer.WriteNumber("top_p", topP);
        }

        // NOTE: thinking refuses a changed top_k as it refuses a temperature.
        if (request.TopK is { } topK && !thinking.IsOn)
        {
            writer.WriteNumber("top_k", topK);
        }

        WriteStopSequences(request.StopSequences, writer);

        if (request.Stream)
        {
            writer.WriteBoolean("stream", true);
        }

        if (request.User is not null)
        {
            writer.WriteStartObject("metadata");
            writer.WriteString("user_id", request.User);
            writer.WriteEndObject();
        }

        WriteThinking(thinking, writer);
        WriteOutputConfig(request.OutputFormat, thinking.Effort, writer);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Anthropic refuses a stop sequence of whitespace alone ("each stop sequence must contain non-whitespace"), which
    /// OpenAI clients send (<c>"\n"</c>): those are left out, and the others kept.
    /// </summary>
    private static void WriteStopSequences(IReadOnlyList<string> stops, Utf8JsonWriter writer)
    {
        var started = false;
        foreach (var stop in stops)
        {
            if (string.IsNullOrWhiteSpace(stop))
            {
                continue;
            }

            if (!started)
            {
                writer.WriteStartArray("stop_sequences");
                started = true;
            }

            writer.WriteStringValue(stop);
        }

        if (started)
        {
            writer.WriteEndArray();
        }
    }

    /// <summary>
    /// The <c>thinking</c> to send for the client's reasoning, and the <c>max_tokens</c> it needs.
    /// </summary>
    /// <remarks>
    /// <para>Claude 4.6 and later size thinking themselves: <c>{"type":"adaptive"}</c> with <c>output_config.effort</c>;
    /// Opus 4.7 refuses <c>budget_tokens</c>, and earlier models refuse <c>adaptive</c>, so the form follows the model
    /// name (https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking). A budget the client gave becomes
    /// the effort it stands for (<see cref="Reasoning.EffectiveEffort"/>).</para>
    /// <para>Earlier models take <c>{"type":"enabled","budget_tokens":N}</c>, N at least 1024 and below
    /// <c>max_tokens</c>. An effort becomes LiteLLM's budget for it (minimal and low 1024, medium 2048, high 4096, its
    /// <c>max</c> 16384; our xhigh 8192 sits between; <c>DEFAULT_REASONING_EFFORT_*_THINKING_BUDGET</c> in
    /// https://github.com/BerriAI/litellm/blob/main/litellm/constants.py); thinking the model should size itself gets
    /// medium. A client's <c>max_tokens</c> bounds thinking and answer together in every API, so it is kept and the
    /// budget clamped below it (no thinking when it leaves no room for 1024); without one, what the request asks for
    /// (<see cref="UnaskedMaxTokensOf"/>) holds both, or for a model whose maximum is not known the budget comes on top
    /// of <see cref="DefaultMaxTokens"/>.</para>
    /// <para>NOTE: Anthropic refuses thinking with a forced tool (<c>tool_choice</c> any or tool), and after tool calls
    /// sent back without their thinking block; the request then goes without thinking rather than be refused.</para>
    /// </remarks>
    private static Thinking PlanThinking(ChatRequest request, string upstreamModel)
    {
        if (request.Reasoning is not { } reasoning)
        {
            return default;
        }

        if (reasoning.IsDisabled)
        {
            return new Thinking("disabled");
        }

        if (request.Tools.Count > 0 && request.ToolChoice?.Kind is ToolChoiceKind.Required or ToolChoiceKind.Tool
            || LastToolCallsLackThinking(request.Messages))
        {
            return default;
        }

        if (TakesAdaptiveThinking(upstreamModel))
        {
            return new Thinking("adaptive", Effort: EffortName(reasoning.EffectiveEffort));
        }

        var budget = Math.Max(MinThinkingBudget, reasoning.BudgetTokens ?? BudgetFor(reasoning.EffectiveEffort ?? ReasoningEffort.Medium));
        if (request.MaxOutputTokens is not { } cap)
        {
            // What the request asks for holds thinking and answer, and the answer keeps the default's room (a Gemini
            // client's budget may be 32,768 alone); without a known maximum, the budget goes on top of the default.
            var unasked = UnaskedMaxTokensOf(upstreamModel);
            return unasked > DefaultMaxTokens
                ? new Thinking("enabled", Math.Max(MinThinkingBudget, Math.Min(budget, unasked - DefaultMaxTokens)))
                : new Thinking("enabled", budget, MaxTokens: DefaultMaxTokens + budget);
        }

        return cap > MinThinkingBudget ? new Thinking("enabled", Math.Min(budget, cap - 1)) : default;
    }

    /// <summary>
    /// Whether the last assistant turn made tool calls without a signed thinking block before them. With thinking on,
    /// Anthropic refuses such a turn ("a final assistant message must start with a thinking block"), and clients of
    /// other formats (or a turn another provider answered) have none to send back.
    /// </summary>
    private static bool LastToolCallsLackThinking(IReadOnlyList<ChatMessage> messages)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i].Role != ChatRole.Assistant)
            {
                continue;
            }

            foreach (var part in messages[i].Content)
            {
                switch (part)
                {
                    case ThinkingPart { Signature.Length: > 0 }:
                        return false;
                    case ToolCallPart:
                        return true;
                }
            }

            return false;
        }

        return false;
    }

    private static int BudgetFor(ReasoningEffort effort) => effort switch
    {
        ReasoningEffort.Medium => 2048,
        ReasoningEffort.High => 4096,
        ReasoningEffort.XHigh => 8192,
        ReasoningEffort.Max => 16384,
        _ => MinThinkingBudget,
    };

    /// <summary>
    /// Anthropic's effort words: low, medium, high, and max for anything above (Claude 4.6 models take max; only Opus
    /// 4.7 takes xhigh). Null leaves the model's default, high.
    /// </summary>
    private static string? EffortName(ReasoningEffort? effort) => effort switch
    {
        null => null,
        ReasoningEffort.None or ReasoningEffort.Minimal or ReasoningEffort.Low => "low",
        ReasoningEffort.Medium => "medium",
        ReasoningEffort.High => "high",
        _ => "max",
    };

    /// <summary>
    /// Whether a model name is a Claude of version 4.6 or later: <c>claude-opus-4-6</c>, <c>claude-sonnet-5</c>,
    /// <c>anthropic.claude-opus-4-7</c>, but not <c>claude-sonnet-4-5-20250929</c> or <c>claude-3-7-sonnet-20250219</c>.
    /// Other names (Anthropic-compatible servers) keep the budget form.
    /// </summary>
    internal static bool TakesAdaptiveThinking(string model) =>
        ClaudeVersion(model) is { } version && (version.Major > 4 || (version.Major == 4 && version.Minor >= 6));

    /// <summary>
    /// The most a model writes in one answer (Anthropic's model table,
    /// https://platform.claude.com/docs/en/about-claude/models/overview). Claude 3 takes 4096, 3.5 8192, 3.7 and Sonnet 4 64K, Opus 4 and
    /// 4.1 32K, the 4.5 models 64K, Opus 4.6 and later 128K, and a later Claude of another name at least 64K;
    /// <see cref="DefaultMaxTokens"/> for any other name (an Anthropic-compatible server's own models).
    /// </summary>
    internal static int MaxOutputTokensOf(string model)
    {
        if (ClaudeVersion(model) is not { } version)
        {
            return DefaultMaxTokens;
        }

        var opus = model.Contains("opus", StringComparison.OrdinalIgnoreCase);
        return (version.Major, version.Minor) switch
        {
            ( < 3, _) or (3, < 5) => DefaultMaxTokens,
            (3, < 7) => 8192,
            (3, _) => 64_000,
            (4, < 5) => opus ? 32_000 : 64_000,
            (4, 5) => 64_000,
            _ => opus ? 128_000 : 64_000,
        };
    }

    /// <summary>
    /// The <c>max_tokens</c> of a request whose client gave none: the model's own maximum up to
    /// <see cref="UnaskedMaxTokensCeiling"/>. Not the 4096 most gateways send, which cuts long answers and an agent's
    /// tool calls (a file written whole) short.
    /// </summary>
    internal static int UnaskedMaxTokensOf(string model) => Math.Min(MaxOutputTokensOf(model), UnaskedMaxTokensCeiling);

    /// <summary>
    /// A Claude model name's version: <c>claude-opus-4-6</c> 4.6, <c>anthropic.claude-3-5-sonnet-20241022-v2:0</c> 3.5,
    /// <c>claude-sonnet-4-20250514</c> 4.0. The first number is the major version, a following number of one or two
    /// digits the minor (a date is not). Null for a name without <c>claude</c> or without a version.
    /// </summary>
    private static (int Major, int Minor)? ClaudeVersion(string model)
    {
        if (!model.Contains("claude", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        int? major = null;
        foreach (var token in model.Split(['-', '.', '_', '@', '/', ':']))
        {
            if (token.Length is 0 or > 2 || !int.TryParse(token, out var number))
            {
                if (major is not null)
                {
                    break;
                }

                continue;
            }

            if (major is null)
            {
                major = number;
                continue;
            }

            return (major.Value, number);
        }

        return major is { } only ? (only, 0) : null;
    }

    private static void WriteThinking(Thinking thinking, Utf8JsonWriter writer)
    {
        if (thinking.Type is null)
        {
            return;
        }

        writer.WriteStartObject("thinking");
        writer.WriteString("type", thinking.Type);
        JsonFields.WriteNumberIfPresent(writer, "budget_tokens", thinking.Budget);
        writer.WriteEndObject();
    }

    /// <summary>
    /// A JSON schema goes in <c>output_config.format</c> (generally available, no beta header; it replaced the beta
    /// <c>output_format</c>): https://platform.claude.com/docs/en/build-with-claude/structured-outputs. A model without
    /// structured outputs refuses it with its own 400, which beats prose the client cannot parse. The thinking
    /// <paramref name="effort"/> goes in the same object.
    /// </summary>
    /// <remarks>
    /// NOTE: Anthropic has no schema-less JSON mode. A <c>json_object</c> request goes without a format, as before: the
    /// client's prompt must already ask for JSON (OpenAI requires that too), and refusing it would break common clients.
    /// </remarks>
    private static void WriteOutputConfig(OutputFormat? format, string? effort, Utf8JsonWriter writer)
    {
        var schema = format is { Kind: OutputFormatKind.JsonSchema, Schema: { } given } ? given : null;
        if (schema is null && effort is null)
        {
            return;
        }

        writer.WriteStartObject("output_config");
        if (schema is not null)
        {
            writer.WriteStartObject("format");
            writer.WriteString("type", "json_schema");
            writer.WritePropertyName("schema");
            schema.WriteTo(writer);
            writer.WriteEndObject();
        }

        JsonFields.WriteStringIfPresent(writer, "effort", effort);
        writer.WriteEndObject();
    }

    /// <summary>A plain string unless some part carries <c>cache_control</c>, which only the block form can hold.</summary>
    private static void WriteSystem(IReadOnlyList<TextPart> system, Utf8JsonWriter writer)
    {
        if (system.Count == 0)
        {
            return;
        }

        var anyCacheControl = false;
        foreach (var part in system)
        {
            anyCacheControl |= part.CacheControl is not null;
        }

        if (anyCacheControl)
        {
            writer.WriteStartArray("system");
            foreach (var part in system)
            {
                // Anthropic rejects empty text blocks.
                if (part.Text.Length > 0)
                {
                    AnthropicContentWriter.WriteText(writer, part);
                }
            }

            writer.WriteEndArray();
        }
        else if (system.Count == 1)
        {
            writer.WriteString("system", system[0].Text);
        }
        else
        {
            writer.WriteString("system", string.Join("\n\n", system.Select(static part => part.Text)));
        }
    }

    /// <summary>
    /// Anthropic requires user and assistant turns to alternate and keeps tool results in user turns, so consecutive
    /// messages that map to the same role are merged into one turn, and messages with nothing writable are skipped
    /// without breaking a run.
    /// </summary>
    private static void WriteMessages(IReadOnlyList<ChatMessage> messages, Utf8JsonWriter writer)
    {
        writer.WriteStartArray("messages");
        var start = 0;
        while (start < messages.Count)
        {
            if (!HasWritableContent(messages[start]))
            {
                start++;
                continue;
            }

            var isUser = messages[start].Role != ChatRole.Assistant;
            var end = start + 1;
            while (end < messages.Count && (!HasWritableContent(messages[end]) || (messages[end].Role != ChatRole.Assistant) == isUser))
            {
                end++;
            }

            writer.WriteStartObject();
            writer.WriteString("role", isUser ? "user" : "assistant");
            writer.WriteStartArray("content");
            if (isUser)
            {
                // NOTE: Anthropic wants tool_result blocks before any other block of the turn
                // ("tool_result blocks must come FIRST in the content array"), so they are written in a first pass.
                WriteRun(messages, start, end, toolResults: true, writer);
                WriteRun(messages, start, end, toolResults: false, writer);
            }
            else
            {
                WriteRun(messages, start, end, toolResults: null, writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            start = end;
        }

        writer.WriteEndArray();
    }

    /// <param name="toolResults">true: only tool results; false: everything else; null: everything.</param>
    private static void WriteRun(IReadOnlyList<ChatMessage> messages, int start, int end, bool? toolResults, Utf8JsonWriter writer)
    {
        for (var i = start; i < end; i++)
        {
            foreach (var part in messages[i].Content)
            {
                if (toolResults is null || toolResults == part is ToolResultPart)
                {
                    WritePart(part, writer);
                }
            }
        }
    }

    private static void WritePart(ContentPart part, Utf8JsonWriter writer)
    {
        switch (part)
        {
            case TextPart { Text.Length: > 0 } text:
                AnthropicContentWriter.WriteText(writer, text);
                break;
            case ImagePart image when image.Data is not null || image.Url is not null:
                AnthropicContentWriter.WriteImage(writer, image);
                break;
            case DocumentPart document when document.Data is not null || document.Url is not null:
                AnthropicContentWriter.WriteDocument(writer, document);
                break;
            case ToolCallPart call:
                AnthropicContentWriter.WriteToolUse(writer, call, response: false);
                break;
            case ToolResultPart result:
                WriteToolResult(result, writer);
                break;
            case ThinkingPart { Signature.Length: > 0 } thinking:
                // Anthropic verifies the signature of every thinking block sent back; one without cannot be replayed.
                AnthropicContentWriter.WriteThinking(writer, thinking);
                break;
        }
    }

    private static bool IsWritable(ContentPart part) => part switch
    {
        TextPart text => text.Text.Length > 0,
        ImagePart image => image.Data is not null || image.Url is not null,
        DocumentPart document => document.Data is not null || document.Url is not null,
        ToolCallPart or ToolResultPart => true,
        ThinkingPart thinking => !string.IsNullOrEmpty(thinking.Signature),
        _ => false,
    };

    private static bool HasWritableContent(ChatMessage message)
    {
        foreach (var part in message.Content)
        {
            if (IsWritable(part))
            {
                return true;
            }
        }

        return false;
    }

    private static void WriteToolResult(ToolResultPart result, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "tool_result");
        writer.WriteString("tool_use_id", AnthropicWire.ToolUseId(result.ToolCallId));
        var hasContent = false;
        foreach (var part in result.Content)
        {
            hasContent |= part is TextPart or ImagePart or DocumentPart && IsWritable(part);
        }

        if (hasContent)
        {
            writer.WriteStartArray("content");
            foreach (var part in result.Content)
            {
                if (part is TextPart or ImagePart or DocumentPart)
                {
                    WritePart(part, writer);
                }
            }

            writer.WriteEndArray();
        }

        if (result.IsError)
        {
            writer.WriteBoolean("is_error", true);
        }

        AnthropicContentWriter.WriteCacheControl(writer, result.CacheControl);
        writer.WriteEndObject();
    }

    private static void WriteTools(ChatRequest request, Utf8JsonWriter writer)
    {
        // NOTE: Anthropic rejects tool_choice without tools, so both are written only when there are tools.
        if (request.Tools.Count == 0)
        {
            return;
        }

        writer.WriteStartArray("tools");
        foreach (var tool in request.Tools)
        {
            writer.WriteStartObject();
            writer.WriteString("name", tool.Name);
            if (tool.Description is not null)
            {
                writer.WriteString("description", tool.Description);
            }

            writer.WritePropertyName("input_schema");
            if (tool.Parameters.ContainsKey("type"))
            {
                tool.Parameters.WriteTo(writer);
            }
            else
            {
                // OpenAI allows a function without parameters ({}); Anthropic requires an object schema.
                writer.WriteStartObject();
                writer.WriteString("type", "object");
                foreach (var (name, value) in tool.Parameters)
                {
                    writer.WritePropertyName(name);
                    if (value is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        value.WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
            }

            AnthropicContentWriter.WriteCacheControl(writer, tool.CacheControl);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();

        var choice = request.ToolChoice;
        var disableParallel = request.ParallelToolCalls == false && choice?.Kind != ToolChoiceKind.None;
        if (choice is null && !disableParallel)
        {
            return;
        }

        writer.WriteStartObject("tool_choice");
        switch (choice?.Kind ?? ToolChoiceKind.Auto)
        {
            case ToolChoiceKind.None:
                writer.WriteString("type", "none");
                break;
            case ToolChoiceKind.Required:
                writer.WriteString("type", "any");
                break;
            case ToolChoiceKind.Tool when choice?.Name is not null:
                writer.WriteString("type", "tool");
                writer.WriteString("name", choice.Name);
                break;
            case ToolChoiceKind.Tool:
                // A forced tool without a name cannot be expressed; "some tool" is the closest.
                writer.WriteString("type", "any");
                break;
            default:
                writer.WriteString("type", "auto");
                break;
        }

        if (disableParallel)
        {
            writer.WriteBoolean("disable_parallel_tool_use", true);
        }

        writer.WriteEndObject();
    }

    /// <param name="Type">enabled, adaptive or disabled; null sends no <c>thinking</c>.</param>
    /// <param name="MaxTokens">The <c>max_tokens</c> the budget needs, when the client gave none.</param>
    private readonly record struct Thinking(string? Type, int? Budget = null, string? Effort = null, int? MaxTokens = null)
    {
        public bool IsOn => Type is "enabled" or "adaptive";
    }
}
