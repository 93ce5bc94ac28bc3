using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Gemini;
using static Serverless.Tests.Formats.Gemini.GeminiTestJson;
using Xunit;

namespace Serverless.Tests.Formats.Gemini;

public sealed class GeminiResponseTests
{
    private static ChatResponse Read(string json)
    {
        var parsed = GeminiFormat.Instance.ReadResponse(Parse(json));
        Assert.True(parsed.IsSuccess, parsed.Error?.Message);
        return parsed.Value!;
    }

    [Fact]
    public void ReadResponse_TextAnswer_MapsContentUsageAndIds()
    {
        var response = Read("""
            {"candidates":[{"content":{"parts":[{"text":"Hello there."}],"role":"model"},"finishReason":"STOP","avgLogprobs":-0.1,"index":0}],
             "usageMetadata":{"promptTokenCount":120,"candidatesTokenCount":8,"totalTokenCount":178,"cachedContentTokenCount":100,"thoughtsTokenCount":50,
               "promptTokensDetails":[{"modality":"TEXT","tokenCount":120}]},
             "modelVersion":"gemini-2.5-flash","responseId":"mH5zaN2bBJqVnvgP"}
            """);

        Assert.Equal("mH5zaN2bBJqVnvgP", response.Id);
        Assert.Equal("gemini-2.5-flash", response.Model);
        Assert.Equal(new TextPart("Hello there."), Assert.Single(response.Content));
        Assert.Equal(StopReason.EndTurn, response.StopReason);
        Assert.Equal(new Usage { InputTokens = 20, CacheReadTokens = 100, OutputTokens = 58, ReasoningTokens = 50 }, response.Usage);
        Assert.Equal(0, response.Created);
    }

    [Fact]
    public void ReadResponse_FunctionCalls_BecomeToolUseWithSynthesizedIds()
    {
        var response = Read("""
            {"candidates":[{"content":{"parts":[
                {"text":"thinking...","thought":true},
                {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"},
                {"functionCall":{"id":"given","name":"get_time","args":{}}}
              ],"role":"model"},"finishReason":"STOP","index":0}],
             "responseId":"r1","modelVersion":"gemini-3-pro-preview","createTime":"2025-07-01T10:00:00.123Z"}
            """);

        Assert.Equal(
            [
                new ThinkingPart("thinking..."),
                new ThinkingPart(string.Empty, "c2ln", ThinkingSigner.Gemini),
                new ToolCallPart("call_r1_0", "get_weather", """{"city":"Paris"}"""),
                new ToolCallPart("given", "get_time", "{}"),
            ],
            response.Content);
        Assert.Equal(StopReason.ToolUse, response.StopReason);
        Assert.Equal(new DateTimeOffset(2025, 7, 1, 10, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), response.Created);
    }

    [Theory]
    [InlineData("STOP", nameof(StopReason.EndTurn))]
    [InlineData("MAX_TOKENS", nameof(StopReason.MaxTokens))]
    [InlineData("SAFETY", nameof(StopReason.ContentFilter))]
    [InlineData("RECITATION", nameof(StopReason.ContentFilter))]
    [InlineData("BLOCKLIST", nameof(StopReason.ContentFilter))]
    [InlineData("PROHIBITED_CONTENT", nameof(StopReason.ContentFilter))]
    [InlineData("SPII", nameof(StopReason.ContentFilter))]
    [InlineData("IMAGE_SAFETY", nameof(StopReason.ContentFilter))]
    [InlineData("MALFORMED_FUNCTION_CALL", nameof(StopReason.Other))]
    [InlineData("LANGUAGE", nameof(StopReason.Other))]
    [InlineData("OTHER", nameof(StopReason.Other))]
    public void ReadResponse_FinishReason_MapsToStopReason(string finishReason, string expectedName)
    {
        var expected = Enum.Parse<StopReason>(expectedName);
        var response = Read($$"""{"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"},"finishReason":"{{finishReason}}"}]}""");

        Assert.Equal(expected, response.StopReason);
    }

    [Fact]
    public void ReadResponse_BlockedPrompt_IsEmptyContentFilter()
    {
        var response = Read("""{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-flash","responseId":"b1"}""");

        Assert.Empty(response.Content);
        Assert.Equal(StopReason.ContentFilter, response.StopReason);
        Assert.Equal(9, response.Usage.InputTokens);
    }

    [Fact]
    public void ReadResponse_ErrorBody_ReturnsUpstreamError()
    {
        var parsed = GeminiFormat.Instance.ReadResponse(Parse("""{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED"}}"""));

        Assert.Equal(new RelayError(ErrorKind.RateLimited, "Quota exceeded."), parsed.Error);
    }

    [Fact]
    public void ReadResponse_InlineImage_BecomesImagePart()
    {
        var response = Read("""{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AAAA"}}],"role":"model"},"finishReason":"STOP"}]}""");

        var image = Assert.IsType<ImagePart>(Assert.Single(response.Content));
        Assert.Equal("image/png", image.MediaType);
        Assert.Equal("AAAA", image.Data);
    }

    [Fact]
    public void WriteResponse_ToolUseAnswer_WritesCandidateAndUsage()
    {
        var response = new ChatResponse
        {
            Id = "msg_1",
            Model = "claude-sonnet-4",
            Content =
            [
                new ThinkingPart("hmm", "sig"),
                new TextPart("Checking."),
                new ToolCallPart("toolu_1", "get_weather", """{"city":"Paris"}"""),
            ],
            StopReason = StopReason.ToolUse,
            Usage = new Usage { InputTokens = 20, CacheReadTokens = 100, CacheWriteTokens = 5, OutputTokens = 58, ReasoningTokens = 50 },
        };

        Assert.Equal(
            Q("{'candidates':[{'content':{'role':'model','parts':[{'text':'hmm','thought':true,'thoughtSignature':'sig'},{'text':'Checking.'},{'functionCall':{'id':'toolu_1','name':'get_weather','args':{'city':'Paris'}}}]},'finishReason':'STOP','index':0}]," +
              "'usageMetadata':{'promptTokenCount':125,'candidatesTokenCount':8,'totalTokenCount':183,'cachedContentTokenCount':100,'thoughtsTokenCount':50}," +
              "'modelVersion':'claude-sonnet-4','responseId':'msg_1'}"),
            Write(writer => GeminiFormat.Instance.WriteResponse(response, AnswerOnly.Request, writer)));
    }

    [Theory]
    [InlineData(nameof(StopReason.EndTurn), "STOP")]
    [InlineData(nameof(StopReason.ToolUse), "STOP")]
    [InlineData(nameof(StopReason.StopSequence), "STOP")]
    [InlineData(nameof(StopReason.MaxTokens), "MAX_TOKENS")]
    [InlineData(nameof(StopReason.ContentFilter), "SAFETY")]
    [InlineData(nameof(StopReason.Other), "OTHER")]
    public void WriteResponse_StopReason_MapsToFinishReason(string stopReasonName, string finishReason)
    {
        var stopReason = Enum.Parse<StopReason>(stopReasonName);
        var response = new ChatResponse { Id = "r", Model = "m", Content = [], StopReason = stopReason };

        Assert.Equal(
            Q("{'candidates':[{'finishReason':'" + finishReason + "','index':0}],'usageMetadata':{'promptTokenCount':0,'candidatesTokenCount':0,'totalTokenCount':0},'modelVersion':'m','responseId':'r'}"),
            Write(writer => GeminiFormat.Instance.WriteResponse(response, AnswerOnly.Request, writer)));
    }

    [Fact]
    public void ReadThenWrite_GeminiResponse_RoundTrips()
    {
        const string body = """{"candidates":[{"content":{"role":"model","parts":[{"text":"Let me look.","thought":true},{"text":"Sure."},{"functionCall":{"id":"call_r9_0","name":"get_weather","args":{"city":"Paris","days":[1,2]}},"thoughtSignature":"c2ln"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":300,"candidatesTokenCount":40,"totalTokenCount":370,"cachedContentTokenCount":256,"thoughtsTokenCount":30},"modelVersion":"gemini-2.5-pro","responseId":"r9"}""";

        var response = Read(body);

        Assert.Equal(body, Write(writer => GeminiFormat.Instance.WriteResponse(response, AnswerOnly.Request, writer)));
    }
}
