using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Serverless.Tests.Upstreams;

public sealed class LoopbackUpstreamTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly HttpClient _http = new();
    private LoopbackUpstream _upstream = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _upstream = await LoopbackUpstream.StartAsync(Ct).WaitAsync(Timeout, Ct);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _upstream.DisposeAsync();
    }

    // ---- OpenAI chat completions ----

    [Fact]
    public async Task ChatCompletions_NonStream_ReturnsEchoAndCanonicalUsage()
    {
        using var response = await ChatAsync("""{"model":"gpt-x","messages":[{"role":"user","content":"hello there"}]}""");

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("chat.completion", json.GetProperty("object").GetString());
        Assert.Equal("gpt-x", json.GetProperty("model").GetString());
        var choice = json.GetProperty("choices")[0];
        Assert.Equal("You said: hello there", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = json.GetProperty("usage");
        Assert.Equal(26, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(5, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(7, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(33, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(UpstreamDialect.OpenAIChat, _upstream.LastRequest.Dialect);
    }

    [Fact]
    public async Task ChatCompletions_StreamWithIncludeUsage_SendsRoleWordsFinishUsageDone()
    {
        using var response = await ChatAsync("""{"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello there"}]}""");

        var events = await ReadEventsAsync(response);
        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events.SkipLast(1).Select(e => e.Json).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var contents = chunks.Skip(1).Where(c => c.GetProperty("choices").GetArrayLength() > 0 && c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out _))
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()).ToList();
        Assert.Equal(["You ", "said: ", "hello ", "there"], contents);
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(33, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task ChatCompletions_StreamWithoutIncludeUsage_SendsNoUsageChunk()
    {
        using var response = await ChatAsync("""{"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        var events = await ReadEventsAsync(response);
        Assert.All(events.SkipLast(1), e => Assert.False(e.Json.TryGetProperty("usage", out _)));
        Assert.Equal("stop", events[^2].Json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task ChatCompletions_WeatherWithTools_StreamsToolCallInFragments()
    {
        using var response = await ChatAsync("""
            {"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"What is the weather?"}],
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},{"type":"function","function":{"name":"other"}}]}
            """);

        var deltas = (await ReadEventsAsync(response)).SkipLast(1).Select(e => e.Json.GetProperty("choices")[0]).ToList();
        var calls = deltas.Where(d => d.GetProperty("delta").TryGetProperty("tool_calls", out _)).Select(d => d.GetProperty("delta").GetProperty("tool_calls")[0]).ToList();
        Assert.Equal("call_w1", calls[0].GetProperty("id").GetString());
        Assert.Equal("get_weather", calls[0].GetProperty("function").GetProperty("name").GetString());
        var fragments = calls.Select(c => c.GetProperty("function").GetProperty("arguments").GetString()).ToList();
        Assert.True(fragments.Count(f => f!.Length > 0) >= 2);
        Assert.Equal("""{"city":"Paris"}""", string.Concat(fragments));
        Assert.Equal("tool_calls", deltas[^1].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task ChatCompletions_ToolResultLast_RepliesToolSaidWithSystemPrefix()
    {
        using var response = await ChatAsync("""
            {"model":"gpt-x","messages":[
              {"role":"system","content":"You are a weather bot that answers briefly"},
              {"role":"user","content":"weather?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"sunny"}],
             "tools":[{"type":"function","function":{"name":"get_weather"}}]}
            """);

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("[sys:You are a weather bo] Tool said: sunny", json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task ChatCompletions_DataUrlAndHttpImages_ReportsBothKinds()
    {
        using var response = await ChatAsync("""
            {"model":"gpt-x","messages":[{"role":"user","content":[{"type":"text","text":"look"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,AAECAw=="}},
              {"type":"image_url","image_url":{"url":"https://example.test/cat.jpg"}}]}]}
            """);

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("You said: look [images: 2; base64 image/png 4, url https://example.test/cat.jpg]",
            json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task ChatCompletions_MaxTokensOne_TruncatesToFirstWordWithLength()
    {
        using var response = await ChatAsync("""{"model":"gpt-x","max_completion_tokens":1,"messages":[{"role":"user","content":"hello there"}]}""");

        var choice = (await JsonAsync(response, HttpStatusCode.OK)).GetProperty("choices")[0];
        Assert.Equal("You", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
    }

    [Theory]
    [InlineData("""[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_9","content":"x"}]""",
        """{"message":"Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.","type":"invalid_request_error","param":"messages.[1].role","code":null}""")]
    [InlineData("""[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_2","content":"x"}]""",
        """{"message":"Invalid parameter: 'tool_call_id' of 'call_2' not found in 'tool_calls' of previous message.","type":"invalid_request_error","param":"messages.[2].tool_call_id","code":null}""")]
    [InlineData("""[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":{"a":1}}}]},{"role":"tool","tool_call_id":"call_1","content":"x"}]""",
        """{"message":"Invalid type for 'messages[1].tool_calls[0].function.arguments': expected a string, but got an object instead.","type":"invalid_request_error","param":"messages[1].tool_calls[0].function.arguments","code":"invalid_type"}""")]
    [InlineData("""[{"role":"robot","content":"hi"}]""",
        """{"message":"Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.","type":"invalid_request_error","param":"messages[0].role","code":"invalid_value"}""")]
    [InlineData("""[]""",
        """{"message":"Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.","type":"invalid_request_error","param":"messages","code":"empty_array"}""")]
    public async Task ChatCompletions_InvalidMessages_Refused400InOpenAIShape(string messages, string expectedError)
    {
        using var response = await ChatAsync($$"""{"model":"gpt-x","messages":{{messages}}}""");

        var json = await JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(expectedError, json.GetProperty("error").GetRawText());
    }

    // ---- Azure OpenAI ----

    [Fact]
    public async Task AzureChat_NonStream_AnswersWithDeploymentAsModel()
    {
        using var response = await PostAsync("openai/deployments/my-gpt/chat/completions?api-version=2024-10-21",
            """{"messages":[{"role":"user","content":"hi"}]}""", ("api-key", _upstream.ApiKey));

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("my-gpt", json.GetProperty("model").GetString());
        Assert.Equal("You said: hi", json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(UpstreamDialect.AzureOpenAIChat, _upstream.LastRequest.Dialect);
    }

    [Fact]
    public async Task AzureChat_MissingApiVersion_Refused400()
    {
        using var response = await PostAsync("openai/deployments/my-gpt/chat/completions",
            """{"messages":[{"role":"user","content":"hi"}]}""", ("api-key", _upstream.ApiKey));

        var json = await JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("""{"code":"MissingApiVersionParameter","message":"The api-version query parameter (?api-version=) is required for all requests."}""",
            json.GetProperty("error").GetRawText());
    }

    // ---- OpenAI Responses ----

    [Fact]
    public async Task Responses_NonStream_ReturnsCompletedResponseWithUsage()
    {
        using var response = await ResponsesAsync("""{"model":"gpt-x","instructions":"Be terse.","input":"hello"}""");

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("response", json.GetProperty("object").GetString());
        Assert.Equal("completed", json.GetProperty("status").GetString());
        var item = json.GetProperty("output")[0];
        Assert.Equal("message", item.GetProperty("type").GetString());
        Assert.Equal("[sys:Be terse.] You said: hello", item.GetProperty("content")[0].GetProperty("text").GetString());
        var usage = json.GetProperty("usage");
        Assert.Equal(26, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(5, usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(7, usage.GetProperty("output_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal(33, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Responses_Stream_SendsTheRealEventSequence()
    {
        using var response = await ResponsesAsync("""{"model":"gpt-x","stream":true,"input":[{"role":"user","content":[{"type":"input_text","text":"hi you"}]}]}""");

        var events = await ReadEventsAsync(response);
        Assert.Equal(
            [
                "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
                "response.output_text.delta", "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
            ],
            events.Select(e => e.Event));
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Json.GetProperty("sequence_number").GetInt32()));
        Assert.All(events, e => Assert.Equal(e.Event, e.Json.GetProperty("type").GetString()));
        Assert.Equal("You said: hi you", events[8].Json.GetProperty("text").GetString());
        Assert.Equal(33, events[^1].Json.GetProperty("response").GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Responses_WeatherWithTools_StreamsFunctionCallItem()
    {
        using var response = await ResponsesAsync("""
            {"model":"gpt-x","stream":true,"input":"weather in Paris?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]}
            """);

        var events = await ReadEventsAsync(response);
        Assert.Equal(
            [
                "response.created", "response.in_progress", "response.output_item.added", "response.function_call_arguments.delta",
                "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done", "response.completed",
            ],
            events.Select(e => e.Event));
        var item = events[^2].Json.GetProperty("item");
        Assert.Equal("fc_w1", item.GetProperty("id").GetString());
        Assert.Equal("call_w1", item.GetProperty("call_id").GetString());
        Assert.Equal("get_weather", item.GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris"}""", events[5].Json.GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task Responses_MaxOutputTokensOne_EndsIncomplete()
    {
        using var response = await ResponsesAsync("""{"model":"gpt-x","max_output_tokens":1,"input":"hello there"}""");

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("incomplete", json.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", json.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal("You", json.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Responses_FunctionCallOutput_RepliesToolSaid()
    {
        using var response = await ResponsesAsync("""
            {"model":"gpt-x","input":[{"role":"user","content":"weather?"},
              {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"},
              {"type":"function_call_output","call_id":"call_1","output":"rainy"}]}
            """);

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("Tool said: rainy", json.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Responses_FunctionCallOutputWithoutCall_Refused400()
    {
        using var response = await ResponsesAsync("""{"model":"gpt-x","input":[{"role":"user","content":"hi"},{"type":"function_call_output","call_id":"call_9","output":"x"}]}""");

        var json = await JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("""{"message":"No tool call found for function call output with call_id call_9.","type":"invalid_request_error","param":"input","code":null}""",
            json.GetProperty("error").GetRawText());
    }

    // ---- Anthropic ----

    [Fact]
    public async Task Anthropic_NonStream_ReturnsMessageWithCacheUsage()
    {
        using var response = await AnthropicAsync("""{"model":"claude-x","max_tokens":100,"system":"Answer in French","messages":[{"role":"user","content":"hello"}]}""");

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("message", json.GetProperty("type").GetString());
        Assert.Equal("[sys:Answer in French] You said: hello", json.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("end_turn", json.GetProperty("stop_reason").GetString());
        Assert.Equal("""{"input_tokens":21,"cache_creation_input_tokens":3,"cache_read_input_tokens":5,"output_tokens":7}""", json.GetProperty("usage").GetRawText());
    }

    [Fact]
    public async Task Anthropic_Stream_SendsTheRealEventSequence()
    {
        using var response = await AnthropicAsync("""{"model":"claude-x","max_tokens":100,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}""");

        var events = await ReadEventsAsync(response);
        Assert.Equal(
            ["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Event));
        Assert.All(events, e => Assert.Equal(e.Event, e.Json.GetProperty("type").GetString()));
        var startUsage = events[0].Json.GetProperty("message").GetProperty("usage");
        Assert.Equal(21, startUsage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(5, startUsage.GetProperty("cache_read_input_tokens").GetInt32());
        Assert.Equal(3, startUsage.GetProperty("cache_creation_input_tokens").GetInt32());
        Assert.Equal(1, startUsage.GetProperty("output_tokens").GetInt32());
        Assert.Equal("You said: hi", string.Concat(events.Where(e => e.Event == "content_block_delta").Select(e => e.Json.GetProperty("delta").GetProperty("text").GetString())));
        Assert.Equal("end_turn", events[7].Json.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(7, events[7].Json.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task Anthropic_WeatherWithTools_StreamsToolUseJsonDeltas()
    {
        using var response = await AnthropicAsync("""
            {"model":"claude-x","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"weather?"}],
             "tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}
            """);

        var events = await ReadEventsAsync(response);
        var block = events.Single(e => e.Event == "content_block_start").Json.GetProperty("content_block");
        Assert.Equal("tool_use", block.GetProperty("type").GetString());
        Assert.Equal("toolu_w1", block.GetProperty("id").GetString());
        Assert.Equal("get_weather", block.GetProperty("name").GetString());
        var fragments = events.Where(e => e.Event == "content_block_delta").Select(e => e.Json.GetProperty("delta")).ToList();
        Assert.Equal(2, fragments.Count);
        Assert.All(fragments, f => Assert.Equal("input_json_delta", f.GetProperty("type").GetString()));
        Assert.Equal("""{"city":"Paris"}""", string.Concat(fragments.Select(f => f.GetProperty("partial_json").GetString())));
        Assert.Equal("tool_use", events.Single(e => e.Event == "message_delta").Json.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task Anthropic_ToolResult_RepliesToolSaid()
    {
        using var response = await AnthropicAsync("""
            {"model":"claude-x","max_tokens":100,"messages":[
              {"role":"user","content":"weather?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"cloudy"}]}]}],
             "tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}
            """);

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("Tool said: cloudy", json.GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Anthropic_Images_ReportsBase64AndUrl()
    {
        using var response = await AnthropicAsync("""
            {"model":"claude-x","max_tokens":100,"messages":[{"role":"user","content":[
              {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"AAECAwQ="}},
              {"type":"image","source":{"type":"url","url":"https://example.test/a.png"}},
              {"type":"text","text":"what is this"}]}]}
            """);

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("You said: what is this [images: 2; base64 image/jpeg 5, url https://example.test/a.png]", json.GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Anthropic_MaxTokensOne_StopsWithMaxTokens()
    {
        using var response = await AnthropicAsync("""{"model":"claude-x","max_tokens":1,"messages":[{"role":"user","content":"hello"}]}""");

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("You", json.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("max_tokens", json.GetProperty("stop_reason").GetString());
    }

    [Theory]
    [InlineData("""{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}""",
        "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"user\" roles in a row")]
    [InlineData("""{"model":"c","messages":[{"role":"user","content":"a"}]}""", "max_tokens: Field required")]
    [InlineData("""{"model":"c","max_tokens":10,"messages":[{"role":"assistant","content":"a"}]}""", "messages: first message must use the \"user\" role")]
    [InlineData("""{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_2","content":"x"}]}]}""",
        "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_2. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.")]
    [InlineData("""{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":"b"}]}""",
        "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next message.")]
    [InlineData("""{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":"{}"}]}]}""",
        "messages.1.content.0.tool_use.input: Input should be a valid dictionary")]
    [InlineData("""{"model":"c","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AA=="}}]}]}""",
        "messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'")]
    public async Task Anthropic_InvalidRequest_Refused400InAnthropicShape(string body, string expectedMessage)
    {
        using var response = await AnthropicAsync(body);

        var json = await JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(expectedMessage, json.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Anthropic_MissingVersionHeader_Refused400()
    {
        using var response = await PostAsync("v1/messages", """{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"a"}]}""", ("x-api-key", _upstream.ApiKey));

        var json = await JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("anthropic-version: header is required", json.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task AnthropicCountTokens_ValidRequest_Returns42()
    {
        using var response = await AnthropicAsync("""{"model":"c","messages":[{"role":"user","content":"a"}]}""", "v1/messages/count_tokens");

        Assert.Equal("""{"input_tokens":42}""", (await JsonAsync(response, HttpStatusCode.OK)).GetRawText());
        Assert.Equal(UpstreamDialect.AnthropicCountTokens, _upstream.LastRequest.Dialect);
    }

    // ---- Gemini ----

    [Fact]
    public async Task Gemini_NonStream_ReturnsCandidateAndUsage()
    {
        using var response = await GeminiAsync("gemini-x:generateContent", """
            {"systemInstruction":{"parts":[{"text":"Be nice"}]},"contents":[{"role":"user","parts":[{"text":"hello"},{"inlineData":{"mimeType":"image/png","data":"AAE="}},{"fileData":{"mimeType":"image/png","fileUri":"gs://b/c.png"}}]}]}
            """);

        var json = await JsonAsync(response, HttpStatusCode.OK);
        var candidate = json.GetProperty("candidates")[0];
        Assert.Equal("[sys:Be nice] You said: hello [images: 2; base64 image/png 2, url gs://b/c.png]", candidate.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString());
        Assert.Equal("model", candidate.GetProperty("content").GetProperty("role").GetString());
        Assert.Equal("STOP", candidate.GetProperty("finishReason").GetString());
        Assert.Equal("""{"promptTokenCount":26,"cachedContentTokenCount":5,"candidatesTokenCount":7,"totalTokenCount":33}""", json.GetProperty("usageMetadata").GetRawText());
        Assert.Equal("gemini-x", json.GetProperty("modelVersion").GetString());
    }

    [Fact]
    public async Task Gemini_Stream_SendsCrLfChunksWithCumulativeUsageAndStopLast()
    {
        using var response = await GeminiAsync("gemini-x:streamGenerateContent?alt=sse", """{"contents":[{"role":"user","parts":[{"text":"hi there"}]}]}""");

        var raw = await response.Content.ReadAsStringAsync(Ct).WaitAsync(Timeout, Ct);
        var chunks = raw.Split("\r\n\r\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(c => JsonDocument.Parse(c["data: ".Length..]).RootElement.Clone()).ToList();
        Assert.Equal(4, chunks.Count);
        Assert.Equal("You said: hi there", string.Concat(chunks.Select(c => c.GetProperty("candidates")[0].GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString())));
        Assert.All(chunks.SkipLast(1), c => Assert.False(c.GetProperty("candidates")[0].TryGetProperty("finishReason", out _)));
        Assert.Equal("STOP", chunks[^1].GetProperty("candidates")[0].GetProperty("finishReason").GetString());
        var outputs = chunks.Select(c => c.GetProperty("usageMetadata").GetProperty("candidatesTokenCount").GetInt32()).ToList();
        Assert.Equal(outputs.Order(), outputs);
        Assert.Equal(33, chunks[^1].GetProperty("usageMetadata").GetProperty("totalTokenCount").GetInt32());
    }

    [Fact]
    public async Task Gemini_WeatherWithTools_SendsWholeFunctionCallInOneChunk()
    {
        using var response = await GeminiAsync("gemini-x:streamGenerateContent?alt=sse", """
            {"contents":[{"role":"user","parts":[{"text":"weather?"}]}],"tools":[{"functionDeclarations":[{"name":"get_weather"}]}]}
            """);

        var events = await ReadEventsAsync(response);
        var candidate = Assert.Single(events).Json.GetProperty("candidates")[0];
        var call = candidate.GetProperty("content").GetProperty("parts")[0].GetProperty("functionCall");
        Assert.Equal("get_weather", call.GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris"}""", call.GetProperty("args").GetRawText());
        Assert.False(call.TryGetProperty("id", out _));
        Assert.Equal("STOP", candidate.GetProperty("finishReason").GetString());
    }

    [Fact]
    public async Task Gemini_FunctionResponse_RepliesCompactResponseJson()
    {
        using var response = await GeminiAsync("gemini-x:generateContent", """
            {"contents":[{"role":"user","parts":[{"text":"weather?"}]},
              {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},
              {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{ "result" : "sunny" }}}]}]}
            """);

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("""Tool said: {"result":"sunny"}""", json.GetProperty("candidates")[0].GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("""{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}}]}]}""",
        "Please ensure that function response turn comes immediately after a function call turn.")]
    [InlineData("""{"contents":[]}""", "* GenerateContentRequest.contents: contents is not specified\n")]
    [InlineData("""{"contents":[{"role":"assistant","parts":[{"text":"a"}]}]}""", "Please use a valid role: user, model.")]
    [InlineData("""{"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":"{}"}}]}]}""",
        "Invalid value at 'contents[1].parts[0].function_call.args' (type.googleapis.com/google.protobuf.Struct), \"{}\"")]
    public async Task Gemini_InvalidRequest_Refused400InGoogleShape(string body, string expectedMessage)
    {
        using var response = await GeminiAsync("gemini-x:generateContent", body);

        var error = (await JsonAsync(response, HttpStatusCode.BadRequest)).GetProperty("error");
        Assert.Equal(400, error.GetProperty("code").GetInt32());
        Assert.Equal("INVALID_ARGUMENT", error.GetProperty("status").GetString());
        Assert.Equal(expectedMessage, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Gemini_StreamWithoutAltSse_Refused400()
    {
        using var response = await GeminiAsync("gemini-x:streamGenerateContent", """{"contents":[{"role":"user","parts":[{"text":"a"}]}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task GeminiCountTokens_KeyInQuery_Returns42()
    {
        using var response = await PostAsync($"v1beta/models/gemini-x:countTokens?key={_upstream.ApiKey}", """{"contents":[{"parts":[{"text":"a"}]}]}""");

        var json = await JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(42, json.GetProperty("totalTokens").GetInt32());
        Assert.Equal(UpstreamDialect.GeminiCountTokens, _upstream.LastRequest.Dialect);
    }

    // ---- Cross-cutting: auth, scripted failures, stream faults, recording ----

    [Theory]
    [InlineData("openai", """{"message":"Incorrect API key provided: wro*****-key. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}""")]
    [InlineData("responses", """{"message":"Incorrect API key provided: wro*****-key. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}""")]
    [InlineData("azure", """{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}""")]
    [InlineData("anthropic", """{"type":"authentication_error","message":"invalid x-api-key"}""")]
    public async Task Endpoint_WrongCredential_Refused401InOwnShape(string api, string expectedError)
    {
        _upstream.ApiKey = "the-right-key";

        using var response = await SendAsDialectAsync(api, "wrong-key");

        var json = await JsonAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal(expectedError, json.GetProperty("error").GetRawText());
    }

    [Fact]
    public async Task Gemini_WrongKey_Refused400ApiKeyInvalid()
    {
        _upstream.ApiKey = "the-right-key";

        using var response = await SendAsDialectAsync("gemini", "wrong-key");

        var json = await JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(
            """{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}""",
            json.GetProperty("error").GetRawText());
    }

    [Theory]
    [InlineData("openai", """{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}""")]
    [InlineData("azure", """{"code":"429","message":"slow down"}""")]
    [InlineData("anthropic", """{"type":"rate_limit_error","message":"slow down"}""")]
    [InlineData("gemini", """{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}""")]
    public async Task FailStatus_WithRetryAfter_AnswersStatusHeaderAndOwnShape(string api, string expectedError)
    {
        _upstream.Script = new UpstreamScript { FailStatus = 429, FailMessage = "slow down", RetryAfter = TimeSpan.FromSeconds(2) };

        using var response = await SendAsDialectAsync(api, _upstream.ApiKey);

        var json = await JsonAsync(response, HttpStatusCode.TooManyRequests);
        Assert.Equal(expectedError, json.GetProperty("error").GetRawText());
        Assert.Equal("2", response.Headers.GetValues("retry-after").Single());
    }

    [Fact]
    public async Task FailStatus_WithFailTimes_RecoversAfterThatManyRequests()
    {
        _upstream.Script = new UpstreamScript { FailStatus = 503, FailTimes = 1 };

        using var first = await SendAsDialectAsync("anthropic", _upstream.ApiKey);
        using var second = await SendAsDialectAsync("anthropic", _upstream.ApiKey);

        Assert.Equal("api_error", (await JsonAsync(first, HttpStatusCode.ServiceUnavailable)).GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }

    [Fact]
    public async Task BreakAfterEvents_Stream_AbortsConnectionAfterThatManyEvents()
    {
        _upstream.Script = new UpstreamScript { BreakAfterEvents = 3 };

        using var response = await AnthropicAsync("""{"model":"c","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"one two three four"}]}""");

        var received = new List<SseItem>();
        await Assert.ThrowsAnyAsync<IOException>(() => ReadEventsAsync(response, received));
        Assert.Equal(["message_start", "ping", "content_block_start"], received.Select(e => e.Event));
    }

    [Fact]
    public async Task EventDelay_150Milliseconds_SpacesEveryEventAtLeast100Milliseconds()
    {
        _upstream.Script = new UpstreamScript { EventDelay = TimeSpan.FromMilliseconds(150) };

        using var response = await ChatAsync("""{"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"a b"}]}""");

        var events = await ReadEventsAsync(response);
        Assert.True(events.Count >= 5);
        var gaps = events.Zip(events.Skip(1), (a, b) => (b.ArrivedAt - a.ArrivedAt).TotalMilliseconds).ToList();

        // Scheduling jitter on a loaded machine can shorten one gap after a late event: check the median gap and the spread.
        Assert.True(gaps.Order().ElementAt(gaps.Count / 2) >= 100, $"gaps {string.Join(", ", gaps.Select(g => (int)g))} ms");
        Assert.True(gaps.Sum() >= 100 * gaps.Count, $"gaps {string.Join(", ", gaps.Select(g => (int)g))} ms");
    }

    [Theory]
    [InlineData("anthropic", "error", """{"type":"error","error":{"type":"overloaded_error","message":"boom"}}""")]
    [InlineData("openai", null, """{"error":{"message":"boom","type":"server_error","param":null,"code":null}}""")]
    [InlineData("gemini", null, """{"error":{"code":500,"message":"boom","status":"INTERNAL"}}""")]
    [InlineData("responses", "error", """{"type":"error","code":"server_error","message":"boom","param":null,"sequence_number":5}""")]
    public async Task ErrorEventAfter_Stream_SendsOwnErrorEventAfterFirstContent(string api, string? expectedEvent, string expectedData)
    {
        _upstream.Script = new UpstreamScript { ErrorEventAfter = "boom" };

        using var response = await SendAsDialectAsync(api, _upstream.ApiKey, stream: true);

        var events = await ReadEventsAsync(response);
        Assert.Equal(expectedEvent, events[^1].Event);
        Assert.Equal(expectedData, events[^1].Data);
        Assert.Equal(1, events.Count(e => e.Data.Contains("You ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ReplyWords_Stream_SendsNumberedWordsIgnoringReplyRule()
    {
        _upstream.Script = new UpstreamScript { ReplyWords = 5 };

        using var response = await AnthropicAsync("""{"model":"c","max_tokens":10,"stream":true,"system":"sys","messages":[{"role":"user","content":"x"}]}""");

        var text = string.Concat((await ReadEventsAsync(response)).Where(e => e.Event == "content_block_delta").Select(e => e.Json.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal("w1 w2 w3 w4 w5", text);
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("responses")]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    public async Task AnswerSplitAt_WithContentLength_HoldsTheRestUntilTheGateOpens(string api)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _upstream.Script = new UpstreamScript { AnswerSplitAt = 20, AnswerContentLength = true, AtAnswerSplit = token => gate.Task.WaitAsync(token) };

        using var response = await SendAsDialectAsync(api, _upstream.ApiKey);
        await using var body = await response.Content.ReadAsStreamAsync(Ct);
        var first = new byte[20];
        await body.ReadExactlyAsync(first, Ct).AsTask().WaitAsync(Timeout, Ct);
        var one = new byte[1];
        var next = body.ReadAsync(one, Ct).AsTask();
        var heldBack = await Task.WhenAny(next, Task.Delay(200, Ct)) != next;
        gate.SetResult();
        Assert.Equal(1, await next.WaitAsync(Timeout, Ct));
        using var whole = new MemoryStream();
        whole.Write(first);
        whole.Write(one);
        await body.CopyToAsync(whole, Ct);

        Assert.True(heldBack);
        Assert.Equal(response.Content.Headers.ContentLength, whole.Length);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(whole.ToArray()).RootElement.ValueKind);
    }

    [Fact]
    public async Task BreakAtAnswerSplit_AfterTheGate_CutsTheBody()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _upstream.Script = new UpstreamScript { AnswerSplitAt = 20, BreakAtAnswerSplit = true, AtAnswerSplit = token => gate.Task.WaitAsync(token) };

        using var response = await SendAsDialectAsync("openai", _upstream.ApiKey);
        await using var body = await response.Content.ReadAsStreamAsync(Ct);
        await body.ReadExactlyAsync(new byte[20], Ct).AsTask().WaitAsync(Timeout, Ct);
        gate.SetResult();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Assert.ThrowsAnyAsync<IOException>(() => body.CopyToAsync(Stream.Null, Ct).WaitAsync(Timeout, Ct));
    }

    [Fact]
    public async Task Requests_RefusedRequest_IsRecordedWithHeadersBodyAndDialect()
    {
        using var response = await AnthropicAsync("""{"model":"c","messages":[]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var recorded = Assert.Single(_upstream.Requests);
        Assert.Equal(UpstreamDialect.Anthropic, recorded.Dialect);
        Assert.Equal("POST", recorded.Method);
        Assert.Equal("/v1/messages", recorded.PathAndQuery);
        Assert.Equal(_upstream.ApiKey, recorded.Headers["X-API-KEY"]);
        Assert.Equal("c", recorded.Json.GetProperty("model").GetString());

        _upstream.Reset();
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task UnknownPath_Post_Returns404AndRecordsUnknown()
    {
        using var response = await PostAsync("v1/nothing", "{}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(UpstreamDialect.Unknown, _upstream.LastRequest.Dialect);
    }

    // ---- helpers ----

    private Task<HttpResponseMessage> ChatAsync(string body) =>
        PostAsync("v1/chat/completions", body, ("Authorization", "Bearer " + _upstream.ApiKey));

    private Task<HttpResponseMessage> ResponsesAsync(string body) =>
        PostAsync("v1/responses", body, ("Authorization", "Bearer " + _upstream.ApiKey));

    private Task<HttpResponseMessage> AnthropicAsync(string body, string path = "v1/messages") =>
        PostAsync(path, body, ("x-api-key", _upstream.ApiKey), ("anthropic-version", "2023-06-01"));

    private Task<HttpResponseMessage> GeminiAsync(string modelAndAction, string body) =>
        PostAsync("v1beta/models/" + modelAndAction, body, ("x-goog-api-key", _upstream.ApiKey));

    /// <summary>A minimal valid "hello" request to one API, with the given credential.</summary>
    private Task<HttpResponseMessage> SendAsDialectAsync(string api, string key, bool stream = false)
    {
        var streamFlag = stream ? "\"stream\":true," : "";
        return api switch
        {
            "openai" => PostAsync("v1/chat/completions", $$"""{{{streamFlag}}"model":"m","messages":[{"role":"user","content":"hello"}]}""", ("Authorization", "Bearer " + key)),
            "responses" => PostAsync("v1/responses", $$"""{{{streamFlag}}"model":"m","input":"hello"}""", ("Authorization", "Bearer " + key)),
            "azure" => PostAsync("openai/deployments/d/chat/completions?api-version=2024-10-21", $$"""{{{streamFlag}}"messages":[{"role":"user","content":"hello"}]}""", ("api-key", key)),
            "anthropic" => PostAsync("v1/messages", $$"""{{{streamFlag}}"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hello"}]}""", ("x-api-key", key), ("anthropic-version", "2023-06-01")),
            "gemini" => PostAsync(stream ? "v1beta/models/m:streamGenerateContent?alt=sse" : "v1beta/models/m:generateContent", """{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}""", ("x-goog-api-key", key)),
            _ => throw new ArgumentOutOfRangeException(nameof(api), api, null),
        };
    }

    private async Task<HttpResponseMessage> PostAsync(string pathAndQuery, string body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_upstream.Root, pathAndQuery))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct).WaitAsync(Timeout, Ct);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expectedStatus)
    {
        var text = await response.Content.ReadAsStringAsync(Ct).WaitAsync(Timeout, Ct);
        Assert.True(expectedStatus == response.StatusCode, $"expected {expectedStatus}, got {response.StatusCode}: {text}");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>Reads SSE events as they arrive, stamping each with its arrival time; fills <paramref name="sink"/> so a broken stream keeps what came.</summary>
    private static async Task<List<SseItem>> ReadEventsAsync(HttpResponseMessage response, List<SseItem>? sink = null)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = sink ?? [];
        var clock = Stopwatch.StartNew();
        await using var stream = await response.Content.ReadAsStreamAsync(Ct).WaitAsync(Timeout, Ct);
        using var reader = new StreamReader(stream);
        string? name = null;
        string? data = null;
        while (await reader.ReadLineAsync(Ct).AsTask().WaitAsync(Timeout, Ct) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    events.Add(new SseItem(name, data, clock.Elapsed));
                }

                (name, data) = (null, null);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line["data: ".Length..];
            }
        }

        return events;
    }

    private sealed record SseItem(string? Event, string Data, TimeSpan ArrivedAt)
    {
        public JsonElement Json
        {
            get
            {
                using var document = JsonDocument.Parse(Data);
                return document.RootElement.Clone();
            }
        }
    }
}
