using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;

namespace Serverless.Relay.Relaying;

/// <summary>The client APIs, named as their functions are.</summary>
internal static class ClientApis
{
    public static readonly ClientApi ChatCompletions = new("ChatCompletions", OpenAIChatFormat.Default, "openai-chat");
    public static readonly ClientApi Responses = new("Responses", OpenAIResponsesFormat.Instance, "openai-responses");
    public static readonly ClientApi ResponsesUnversioned = new("ResponsesUnversioned", OpenAIResponsesFormat.Instance, "openai-responses");

    /// <summary>OpenAI's <c>POST /v1/responses/compact</c> (Codex compacts a long session with it): relayed only to an upstream that speaks Responses.</summary>
    public static readonly ClientApi ResponsesCompact = new("ResponsesCompact", OpenAIResponsesFormat.Instance, "openai-responses-compact") { Operation = UpstreamOperation.Compact };
    public static readonly ClientApi ResponsesCompactUnversioned = ResponsesCompact with { FunctionName = "ResponsesCompactUnversioned" };
    public static readonly ClientApi Messages = new("Messages", AnthropicFormat.Instance, "anthropic");
    public static readonly ClientApi Gemini = new("Gemini", GeminiFormat.Instance, "gemini");

    /// <summary>A caller inside the relay's process (<see cref="IRelay"/>): answers in OpenAI Chat's shape, recorded as <c>in-process</c>.</summary>
    public static readonly ClientApi InProcess = new("InProcess", OpenAIChatFormat.Default, "in-process");
}
