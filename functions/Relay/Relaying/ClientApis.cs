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
    public static readonly ClientApi Messages = new("Messages", AnthropicFormat.Instance, "anthropic");
    public static readonly ClientApi Gemini = new("Gemini", GeminiFormat.Instance, "gemini");

    /// <summary>A caller inside the relay's process (<see cref="IRelay"/>): answers in OpenAI Chat's shape, recorded as <c>in-process</c>.</summary>
    public static readonly ClientApi InProcess = new("InProcess", OpenAIChatFormat.Default, "in-process");
}
