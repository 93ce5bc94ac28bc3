using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Tests.Formats.OpenAIChat;
using Xunit;

namespace Serverless.Tests.Formats;

/// <summary>
/// A same-format answer is metered with <see cref="IChatFormat.MeterResponse"/>, which OpenAI's format reads with a
/// token scan instead of the whole answer: its usage and stop reason must be the ones <see cref="IChatFormat.ReadResponse"/>
/// gives, and a body that is no answer must meter as nothing.
/// </summary>
public sealed class AnswerMeteringTests
{
    private static readonly Dictionary<string, string> Answers = new()
    {
        ["recorded tool calls, cached and reasoning tokens"] = OpenAIChatResponseTests.RecordedToolCallResponse,
        ["text cut at max tokens"] = """{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello, wor"},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}""",
        ["usage before choices, OpenRouter cache writes"] = """{"usage":{"prompt_tokens":300,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":50}},"id":"c","model":"m","choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}""",
        ["no usage at all"] = """{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}""",
        ["null usage and null finish reason"] = """{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":null}],"usage":null}""",
        ["two choices, the second filtered"] = """{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"a"},"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":""},"finish_reason":"content_filter"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}""",
        ["an error object"] = """{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}""",
        ["no choices"] = """{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":0}}""",
        ["not an object"] = """[{"choices":[]}]""",
        ["not JSON"] = """{"id":"c","choices":[{"message":{"content":"a"},"finish_reason":"stop"}] trailing""",
    };

    public static TheoryData<string> AnswerNames() => new(Answers.Keys);

    [Theory]
    [MemberData(nameof(AnswerNames))]
    public void MeterResponse_OpenAIChatAnswer_MetersWhatReadResponseReads(string name)
    {
        var body = Encoding.UTF8.GetBytes(Answers[name]);

        var metered = ((IChatFormat)OpenAIChatTestSupport.Format).MeterResponse(body);

        // The answer's id is read only where a later request may continue it (a stored Responses answer).
        Assert.Equal(ReadWhole(body) is { } whole ? whole with { AnswerId = null } : null, metered);
    }

    [Fact]
    public void MeterResponse_RecordedAnswer_UsageWithCacheAndReasoningTokens()
    {
        var metered = ((IChatFormat)OpenAIChatTestSupport.Format).MeterResponse(Encoding.UTF8.GetBytes(OpenAIChatResponseTests.RecordedToolCallResponse));

        Assert.NotNull(metered);
        Assert.Equal(StopReason.ToolUse, metered.Value.StopReason);
        Assert.True(metered.Value.Usage.CacheReadTokens > 0);
        Assert.True(metered.Value.Usage.ReasoningTokens > 0);
    }

    private static AnswerMetering? ReadWhole(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var parsed = OpenAIChatTestSupport.Format.ReadResponse(document.RootElement);
            return parsed.IsSuccess ? AnswerMetering.Of(parsed.Value!) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
