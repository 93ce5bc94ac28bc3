using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;

namespace Serverless.Tests.Formats;

/// <summary>
/// Issue 11: a same-format relay reads only each request's head (model, stream flags, user). The head must say what the
/// whole read says, must refuse what every request of the format needs, and must not judge the rest, which the
/// upstream does.
/// </summary>
public sealed class RequestHeadTests
{
    private static readonly Dictionary<string, IChatFormat> Formats = new()
    {
        ["openai-chat"] = OpenAIChatFormat.Default,
        ["responses"] = OpenAIResponsesFormat.Instance,
        ["anthropic"] = AnthropicFormat.Instance,
        ["gemini"] = GeminiFormat.Instance,
    };

    internal static IChatFormat FormatNamed(string name) => Formats[name];

    private static (Result<RequestHead> Head, Result<ChatRequest> Whole) Read(string format, string body, string? modelFromPath = null, bool stream = false)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        return (Formats[format].ReadHead(root, modelFromPath, stream), Formats[format].ReadRequest(root, modelFromPath, stream));
    }

    [Theory]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"user":"u-1"}""", null, false)]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"prompt_cache_key":"pc-9"}""", null, false)]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"safety_identifier":"s-1","prompt_cache_key":"pc-9"}""", null, false)]
    [InlineData("responses", """{"model":"gpt-5","input":"hi","stream":true,"safety_identifier":"s-2"}""", null, false)]
    [InlineData("responses", """{"model":"gpt-5","input":[{"role":"user","content":"hi"}],"stream":false}""", null, false)]
    [InlineData("anthropic", """{"model":"claude-sonnet-4-5","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"m-3"}}""", null, false)]
    [InlineData("gemini", """{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}""", "models/gemini-2.5-flash:streamGenerateContent", true)]
    public void ReadHead_ReadableRequest_SaysWhatTheWholeReadSays(string format, string body, string? modelFromPath, bool stream)
    {
        var (head, whole) = Read(format, body, modelFromPath, stream);

        Assert.True(whole.IsSuccess, whole.Error?.Message);

        // What continues or is kept by an upstream's store is the head's alone: the canonical request has no such thing.
        Assert.Equal(RequestHead.Of(whole.Value!), head.Value! with { PreviousResponseId = null, StoresResponse = false });
        Assert.NotEqual("", head.Value!.Model);
    }

    [Theory]
    [InlineData("responses", """{"model":"gpt-5","input":"hi"}""", true)]
    [InlineData("responses", """{"model":"gpt-5","input":"hi","store":true}""", true)]
    [InlineData("responses", """{"model":"gpt-5","input":"hi","store":false}""", false)]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"store":true}""", false)]
    [InlineData("anthropic", """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", false)]
    public void ReadHead_StoreFlag_OnlyAResponsesAnswerIsStoredUnlessTheClientSaysNot(string format, string body, bool stored)
    {
        var (head, _) = Read(format, body);

        Assert.Equal(stored, head.Value!.StoresResponse);
    }

    [Theory]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[{"role":"narrator","content":"hi"}]}""", "messages[0].role")]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[{"type":7}]}""", "tools[0].type")]
    [InlineData("responses", """{"model":"gpt-5","input":[{"type":"function_call_output"}]}""", "input[0]")]
    [InlineData("anthropic", """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":[{"type":"text"}]}]}""", "messages[0].content[0]")]
    [InlineData("gemini", """{"contents":[{"role":"user","parts":"hi"}]}""", "contents[0].parts")]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[{"role":"user","content":"\ud800"}]}""", "messages[0].content")]
    public void ReadHead_BodyOnlyTheWholeReadRefuses_HeadReads(string format, string body, string field)
    {
        var (head, whole) = Read(format, body, format == "gemini" ? "gemini-2.5-flash" : null);

        Assert.False(whole.IsSuccess);
        Assert.StartsWith(field, whole.Error!.Message, StringComparison.Ordinal);
        Assert.True(head.IsSuccess, head.Error?.Message);
    }

    [Theory]
    [InlineData("openai-chat", """{"messages":[{"role":"user","content":"hi"}]}""", "model: field required")]
    [InlineData("openai-chat", """{"model":"\ud800","messages":[{"role":"user","content":"hi"}]}""", "model: must be valid UTF-8 text without unpaired surrogates")]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[]}""", "messages: must contain at least one message")]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream: must be a boolean")]
    [InlineData("openai-chat", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"user":"\udc00"}""", "user: must be valid UTF-8 text without unpaired surrogates")]
    [InlineData("responses", """{"model":"gpt-5"}""", "input: field required")]
    [InlineData("responses", """{"model":"gpt-5","input":3}""", "input: must be a string or an array")]
    [InlineData("responses", """{"model":"gpt-5","input":"hi","previous_response_id":7}""", "previous_response_id: must be a string")]
    [InlineData("responses", """{"model":"gpt-5","input":"hi","store":"no"}""", "store: must be a boolean")]
    [InlineData("anthropic", """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}""", "max_tokens: field required")]
    [InlineData("anthropic", """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":{}}""", "messages: must be an array")]
    [InlineData("gemini", """{"generationConfig":{}}""", "contents: field required")]
    [InlineData("gemini", """[1]""", "request body: must be a JSON object")]
    public void ReadHead_MissingWhatEveryRequestNeeds_RefusedAsTheWholeReadRefusesIt(string format, string body, string message)
    {
        var (head, whole) = Read(format, body, format == "gemini" ? "gemini-2.5-flash" : null);

        Assert.Equal(message, head.Error?.Message);
        Assert.Equal(message, whole.Error?.Message);
    }
}
