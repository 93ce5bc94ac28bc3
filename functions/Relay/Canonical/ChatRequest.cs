using System.Text.Json.Nodes;

namespace Serverless.Relay.Canonical;

/// <summary>
/// The one model of a chat request that every client format parses into and every upstream format is written from.
/// </summary>
internal sealed record ChatRequest
{
    /// <summary>The model the client asked for (Gemini carries it in the URL, the others in the body).</summary>
    public required string Model { get; init; }

    /// <summary>System / developer instructions, in order. Parts keep their <c>cache_control</c>.</summary>
    public IReadOnlyList<TextPart> System { get; init; } = [];

    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    public IReadOnlyList<ToolDefinition> Tools { get; init; } = [];

    public ToolChoice? ToolChoice { get; init; }

    public bool? ParallelToolCalls { get; init; }

    public double? Temperature { get; init; }

    public double? TopP { get; init; }

    public int? MaxOutputTokens { get; init; }

    /// <summary>Anthropic <c>top_k</c>, Gemini <c>topK</c>; OpenAI has none.</summary>
    public int? TopK { get; init; }

    /// <summary>OpenAI Chat <c>seed</c>, Gemini <c>seed</c>; Anthropic has none.</summary>
    public long? Seed { get; init; }

    /// <summary>OpenAI Chat <c>presence_penalty</c>, Gemini <c>presencePenalty</c>; Anthropic has none.</summary>
    public double? PresencePenalty { get; init; }

    /// <summary>OpenAI Chat <c>frequency_penalty</c>, Gemini <c>frequencyPenalty</c>; Anthropic has none.</summary>
    public double? FrequencyPenalty { get; init; }

    public IReadOnlyList<string> StopSequences { get; init; } = [];

    public bool Stream { get; init; }

    /// <summary>
    /// The client asked for usage inside the stream (OpenAI <c>stream_options.include_usage</c>). Other formats always
    /// carry usage in their streams; their readers leave this false and their encoders ignore it.
    /// </summary>
    public bool StreamUsage { get; init; }

    /// <summary>End-user or session identifier the client sent (OpenAI <c>user</c>, Anthropic <c>metadata.user_id</c>).</summary>
    public string? User { get; init; }

    /// <summary>
    /// The shape the answer's text must take (OpenAI <c>response_format</c>, Responses <c>text.format</c>, Gemini
    /// <c>responseMimeType</c> with a schema); null is plain text, as when the client says nothing.
    /// </summary>
    public OutputFormat? OutputFormat { get; init; }

    /// <summary>
    /// How much the model should think (OpenAI <c>reasoning_effort</c> / <c>reasoning</c>, Anthropic <c>thinking</c> and
    /// <c>output_config.effort</c>, Gemini <c>thinkingConfig</c>); null when the client says nothing (the model's default).
    /// </summary>
    public Reasoning? Reasoning { get; init; }

    /// <summary>
    /// Why only an upstream of the client's own format can serve this request, which asks for what no other format's
    /// answer carries (OpenAI Chat audio output, log probabilities or several choices, Gemini's several candidates,
    /// Anthropic's cache-warming <c>max_tokens: 0</c> or a forced server tool); null when any can. Accounts that would translate
    /// the request are left out of its plan, and with none left this is the answer.
    /// </summary>
    public RelayError? Untranslatable { get; init; }

    /// <summary>
    /// This request as an upstream of <paramref name="upstream"/> can take it: thinking that another provider signed
    /// (<see cref="ThinkingPart.SignedBy"/>) is left out, since only the provider that made a signature verifies it.
    /// This same request when there is none.
    /// </summary>
    public ChatRequest WithoutThinkingSignedElsewhere(ThinkingSigner upstream)
    {
        List<ChatMessage>? messages = null;
        for (var i = 0; i < Messages.Count; i++)
        {
            var message = Messages[i];
            var foreign = false;
            foreach (var part in message.Content)
            {
                foreign |= IsSignedElsewhere(part, upstream);
            }

            if (foreign)
            {
                messages ??= [.. Messages.Take(i)];
                messages.Add(message with { Content = [.. message.Content.Where(part => !IsSignedElsewhere(part, upstream))] });
            }
            else
            {
                messages?.Add(message);
            }
        }

        return messages is null ? this : this with { Messages = messages };
    }

    private static bool IsSignedElsewhere(ContentPart part, ThinkingSigner upstream) =>
        part is ThinkingPart { SignedBy: { } signedBy } && signedBy != upstream;
}

internal enum OutputFormatKind
{
    Text,
    /// <summary>Any valid JSON object (OpenAI "JSON mode"); no schema.</summary>
    JsonObject,
    /// <summary>JSON following <see cref="OutputFormat.Schema"/>.</summary>
    JsonSchema,
}

/// <summary>Structured output. <see cref="Name"/> and <see cref="Schema"/> are set for <see cref="OutputFormatKind.JsonSchema"/> only.</summary>
/// <param name="Schema">A JSON Schema object, detached from the request's document.</param>
internal sealed record OutputFormat(OutputFormatKind Kind, string? Name = null, JsonObject? Schema = null, bool? Strict = null, string? Description = null)
{
    public static readonly OutputFormat Text = new(OutputFormatKind.Text);

    public static readonly OutputFormat AnyJson = new(OutputFormatKind.JsonObject);
}

internal enum ChatRole
{
    User,
    Assistant,
    /// <summary>A message carrying tool results only (OpenAI <c>role: tool</c>; Anthropic puts them in a user turn).</summary>
    Tool,
}

internal sealed record ChatMessage(ChatRole Role, IReadOnlyList<ContentPart> Content);

/// <summary>A piece of message content. Formats that cannot express a part drop it rather than fail.</summary>
internal abstract record ContentPart;

/// <param name="CacheControl">Anthropic-style <c>{"type":"ephemeral"}</c> marker, kept so prompt caching survives translation.</param>
internal sealed record TextPart(string Text, JsonObject? CacheControl = null) : ContentPart;

/// <summary>An image either by URL or inline (base64 <see cref="Data"/> with its <see cref="MediaType"/>).</summary>
internal sealed record ImagePart : ContentPart
{
    public string? Url { get; init; }
    public string? MediaType { get; init; }
    public string? Data { get; init; }
    /// <summary>OpenAI <c>detail</c> (low/high/auto); dropped by formats without it.</summary>
    public string? Detail { get; init; }
    public JsonObject? CacheControl { get; init; }
}

/// <summary>
/// A document: a PDF, a plain-text file or any other file that is not an image, inline (base64 <see cref="Data"/> with
/// its <see cref="MediaType"/>) or by <see cref="Url"/>. Anthropic's plain-text source is held inline as
/// <see cref="PlainText"/> like a text file from any other client, so every writer handles one shape.
/// </summary>
/// <remarks>
/// NOTE: references to a provider's own file store (OpenAI and Anthropic file ids, Gemini Files API URIs) have no
/// place here: no other provider can read them, so the readers refuse them rather than drop them.
/// </remarks>
internal sealed record DocumentPart : ContentPart
{
    public const string Pdf = "application/pdf";
    public const string PlainText = "text/plain";

    public string? Url { get; init; }
    public string? MediaType { get; init; }
    public string? Data { get; init; }
    /// <summary>The name the client gave it (OpenAI <c>filename</c>, Anthropic <c>title</c>); the model sees it.</summary>
    public string? Name { get; init; }
    public JsonObject? CacheControl { get; init; }

    /// <summary>A text file (<c>text/*</c>): formats that take only PDFs as files can send its text instead.</summary>
    public bool IsText => MediaType is { } type && type.StartsWith("text/", StringComparison.OrdinalIgnoreCase);

    /// <summary>The text of an inline text file, or null when it is not one or its data is not base64 of UTF-8.</summary>
    public string? DecodeText()
    {
        if (!IsText || Data is null)
        {
            return null;
        }

        try
        {
            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(Data));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return null;
        }
    }
}

/// <param name="ArgumentsJson">The arguments as JSON text of an object (OpenAI keeps a string, Anthropic/Gemini an object).</param>
internal sealed record ToolCallPart(string Id, string Name, string ArgumentsJson) : ContentPart;

/// <param name="ToolName">The called tool's name when known; Gemini's <c>functionResponse</c> needs it.</param>
internal sealed record ToolResultPart(string ToolCallId, IReadOnlyList<ContentPart> Content, bool IsError = false, string? ToolName = null) : ContentPart
{
    public JsonObject? CacheControl { get; init; }
}

/// <summary>A provider whose thinking signatures only it verifies (<see cref="ThinkingPart.SignedBy"/>).</summary>
internal enum ThinkingSigner
{
    Anthropic,
    Gemini,
}

/// <summary>Model reasoning (Anthropic <c>thinking</c>); the signature is opaque and only meaningful to its own provider.</summary>
/// <param name="SignedBy">
/// The provider that made <see cref="Signature"/>, where that is known: in answers read from
/// Anthropic and Gemini, and in a Responses reasoning item the relay wrote (its <c>encrypted_content</c>) and a client
/// sent back. Null is a signature a client holds in its own format's field, passed on as it is.
/// </param>
internal sealed record ThinkingPart(string Text, string? Signature = null, ThinkingSigner? SignedBy = null) : ContentPart;

/// <param name="Parameters">A JSON Schema object.</param>
internal sealed record ToolDefinition(string Name, string? Description, JsonObject Parameters)
{
    /// <summary><see cref="NoParameters"/> as written, which is how a token estimate counts it.</summary>
    public static readonly string NoParametersJson = NoParameters().ToJsonString();

    public JsonObject? CacheControl { get; init; }

    /// <summary>
    /// OpenAI's strict schema adherence for the call's arguments (Chat <c>function.strict</c>, Responses <c>strict</c>);
    /// null when the client did not say. Written to OpenAI's formats only.
    /// </summary>
    public bool? Strict { get; init; }

    /// <summary>
    /// A Responses custom (freeform) tool, declared to other upstreams as a function taking one string, <c>input</c>:
    /// its calls go back to a Responses client as <c>custom_tool_call</c> items with that string.
    /// </summary>
    public bool IsCustom { get; init; }

    /// <summary>The Responses <c>namespace</c> tool this tool was declared in; its calls go back to the client naming it.</summary>
    public string? Namespace { get; init; }

    /// <summary>The schema of a function that takes no arguments, for one that declares none (Anthropic and Gemini need one).</summary>
    public static JsonObject NoParameters() => new() { ["type"] = "object", ["properties"] = new JsonObject() };
}

internal enum ToolChoiceKind
{
    Auto,
    None,
    /// <summary>Must call some tool (OpenAI <c>required</c>, Anthropic <c>any</c>, Gemini <c>ANY</c>).</summary>
    Required,
    /// <summary>Must call <see cref="ToolChoice.Name"/>.</summary>
    Tool,
}

internal sealed record ToolChoice(ToolChoiceKind Kind, string? Name = null);
