#pragma warning disable OPENAI001 // the Responses client is marked experimental
using System.ClientModel;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Responses;
using Xunit;
using AnthropicSdk = global::Anthropic;
using Messages = global::Anthropic.Models.Messages;

namespace Serverless.Tests.EndToEnd;

/// <summary>The official OpenAI and Anthropic .NET SDKs, unchanged, as clients of the running relay.</summary>
[Collection(MatrixCollection.Name)]
public sealed class OfficialSdkTests(RelayWithUpstreams relay)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private OpenAIClientOptions OpenAIOptions => new() { Endpoint = new Uri(relay.Host.BaseUri, "v1"), NetworkTimeout = Timeout, RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) };

    [Theory]
    [InlineData("openai")]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    public async Task OpenAIChatClient_CompleteChat_AnswerAndUsage(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        var client = new ChatClient(RelayWithUpstreams.ModelFor(provider), new ApiKeyCredential(relay.Key), OpenAIOptions);

        var completion = (await client.CompleteChatAsync([new SystemChatMessage("Be brief"), new UserChatMessage("hello there")], cancellationToken: ct).WaitAsync(Timeout, ct)).Value;

        Assert.Equal("[sys:Be brief] You said: hello there", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(provider == "anthropic" ? 29 : 26, completion.Usage.InputTokenCount);
        Assert.Equal(5, completion.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(7, completion.Usage.OutputTokenCount);
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    public async Task OpenAIChatClient_CompleteChatStreaming_TextToolCallsAndUsage(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        var client = new ChatClient(RelayWithUpstreams.ModelFor(provider), new ApiKeyCredential(relay.Key), OpenAIOptions);
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather for a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
        var options = new ChatCompletionOptions { Tools = { tool } };

        var arguments = new StringBuilder();
        string? toolName = null;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("what is the weather in Paris?")], options, timeout.Token))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                toolName ??= call.FunctionName;
                arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("get_weather", toolName);
        Assert.Equal("""{"city":"Paris"}""", arguments.ToString().Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.NotNull(usage);
        Assert.Equal(7, usage.OutputTokenCount);
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData("openai")]
    [InlineData("gemini")]
    public async Task AnthropicClient_CreateAndCreateStreaming_AnswerAndUsage(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = new AnthropicSdk.AnthropicClient { ApiKey = relay.Key, BaseUrl = relay.Host.BaseUri.ToString().TrimEnd('/'), MaxRetries = 0 };
        var parameters = new Messages.MessageCreateParams
        {
            Model = RelayWithUpstreams.ModelFor(provider),
            MaxTokens = 100,
            System = "Be brief",
            Messages = [new Messages.UserMessageParam("hello there")],
        };

        var message = await client.Messages.Create(parameters, ct).WaitAsync(Timeout, ct);

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("[sys:Be brief] You said: hello there", text.Text);
        Assert.Equal(Messages.StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal(21, message.Usage.InputTokens);
        Assert.Equal(provider == "anthropic" ? 3 : 0, message.Usage.CacheCreationInputTokens);
        Assert.Equal(5, message.Usage.CacheReadInputTokens);
        Assert.Equal(7, message.Usage.OutputTokens);

        var streamed = new StringBuilder();
        long? outputTokens = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        await foreach (var streamEvent in client.Messages.CreateStreaming(parameters, timeout.Token).WithCancellation(timeout.Token))
        {
            if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var textDelta))
            {
                streamed.Append(textDelta.Text);
            }
            else if (streamEvent.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta.Usage.OutputTokens;
            }
        }

        Assert.Equal("[sys:Be brief] You said: hello there", streamed.ToString());
        Assert.Equal(7, outputTokens);
    }

    /// <summary>
    /// Claude Code's <c>metadata.user_id</c> is a JSON object of its device, account and session ids, longer than the 64
    /// characters OpenAI takes in <c>user</c>: a translated request carries a 64-character stand-in, the same for the
    /// same id, and an Anthropic account gets the id as sent.
    /// </summary>
    [Theory]
    [InlineData("openai")]
    [InlineData("azure-openai")]
    [InlineData("anthropic")]
    public async Task AnthropicClient_ClaudeCodeUserId_UpstreamTakesIt(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        const string userId = """{"device_id":"5f1c9a0e7b2d4c6a8e3f1b0d9c7a5e3f1b0d9c7a5e3f1b0d9c7a5e3f1b0d9c7a","account_uuid":"","session_id":"3b6f2a8e-1c4d-4e9b-a7f0-2d5c8b1e6a93"}""";
        using var client = new AnthropicSdk.AnthropicClient { ApiKey = relay.Key, BaseUrl = relay.Host.BaseUri.ToString().TrimEnd('/'), MaxRetries = 0 };
        var parameters = new Messages.MessageCreateParams
        {
            Model = RelayWithUpstreams.ModelFor(provider),
            MaxTokens = 100,
            Messages = [new Messages.UserMessageParam("hello there")],
            Metadata = new Messages.Metadata { UserID = userId },
        };

        var first = await client.Messages.Create(parameters, ct).WaitAsync(Timeout, ct);
        var sentFirst = relay.Upstream.LastRequest.Json;
        await client.Messages.Create(parameters, ct).WaitAsync(Timeout, ct);
        var sentSecond = relay.Upstream.LastRequest.Json;

        Assert.True(first.Content[0].TryPickText(out var text));
        Assert.Equal("You said: hello there", text.Text);
        if (provider == "anthropic")
        {
            Assert.Equal(userId, sentFirst.GetProperty("metadata").GetProperty("user_id").GetString());
        }
        else
        {
            var user = sentFirst.GetProperty("user").GetString();
            Assert.Equal(64, user!.Length);
            Assert.Equal(user, sentSecond.GetProperty("user").GetString());
        }
    }

    /// <summary>
    /// Claude Code's max_tokens (32,000, or 64,000 for newer Claudes) to an account serving gpt-4o, which OpenAI refuses
    /// above 16,384 ("max_tokens is too large"): the upstream is asked for the model's maximum and the client gets its answer.
    /// </summary>
    [Theory]
    [InlineData(32000)]
    [InlineData(64000)]
    public async Task AnthropicClient_ClaudeCodeMaxTokensOnGpt4o_CappedToModelMaximum(long maxTokens)
    {
        var ct = TestContext.Current.CancellationToken;
        const string model = "gpt-4o";
        await relay.Host.CreateAccountAsync(new
        {
            name = $"openai {model} {maxTokens}",
            provider = "openai",
            baseUrl = relay.Upstream.OpenAIBaseUrl,
            apiKey = relay.Upstream.ApiKey,
            models = new[] { model },
        }).WaitAsync(Timeout, ct);
        using var client = new AnthropicSdk.AnthropicClient { ApiKey = relay.Key, BaseUrl = relay.Host.BaseUri.ToString().TrimEnd('/'), MaxRetries = 0 };

        var message = await client.Messages.Create(new Messages.MessageCreateParams
        {
            Model = model,
            MaxTokens = maxTokens,
            Messages = [new Messages.UserMessageParam("hello there")],
        }, ct).WaitAsync(Timeout, ct);

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("You said: hello there", text.Text);
        Assert.Equal(16384, relay.Upstream.LastRequest.Json.GetProperty("max_completion_tokens").GetInt32());
    }

    /// <summary>
    /// Claude Code names an MCP server's tools <c>mcp__{server}__{tool}</c>, often longer than the 64 characters OpenAI
    /// and Gemini take in a function's name (their fakes refuse it in their own words): the upstream gets a shortened
    /// name and the SDK reads the call, streamed or not, under the name it declared; the call sent back in the history
    /// with its result goes under the shortened one.
    /// </summary>
    [Theory]
    [InlineData("openai")]
    [InlineData("azure-openai")]
    [InlineData("gemini")]
    public async Task AnthropicClient_LongMcpToolName_CalledUnderItsOwnName(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        const string name = "mcp__claude-code-relay-integration-server__get_weather_forecast_by_zip";
        Assert.Equal(70, name.Length);
        using var client = new AnthropicSdk.AnthropicClient { ApiKey = relay.Key, BaseUrl = relay.Host.BaseUri.ToString().TrimEnd('/'), MaxRetries = 0 };
        var tool = new Messages.Tool
        {
            Name = name,
            Description = "Weather for a city",
            InputSchema = new Messages.InputSchema
            {
                Properties = new Dictionary<string, System.Text.Json.JsonElement> { ["city"] = System.Text.Json.JsonSerializer.SerializeToElement(new { type = "string" }) },
                Required = ["city"],
            },
        };
        var parameters = new Messages.MessageCreateParams
        {
            Model = RelayWithUpstreams.ModelFor(provider),
            MaxTokens = 100,
            Messages = [new Messages.UserMessageParam("what is the weather in Paris?")],
            Tools = [tool],
        };

        var message = await client.Messages.Create(parameters, ct).WaitAsync(Timeout, ct);

        Assert.Equal(Messages.StopReason.ToolUse, message.StopReason!.Value());
        Assert.True(Assert.Single(message.Content).TryPickToolUse(out var call));
        Assert.Equal(name, call.Name);
        Assert.Equal("Paris", call.Input["city"].GetString());

        string? streamedName = null;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(Timeout);
            await foreach (var streamEvent in client.Messages.CreateStreaming(parameters, timeout.Token).WithCancellation(timeout.Token))
            {
                if (streamEvent.TryPickContentBlockStart(out var start) && start.ContentBlock.TryPickToolUse(out var streamedCall))
                {
                    streamedName = streamedCall.Name;
                }
            }
        }

        Assert.Equal(name, streamedName);

        // The next turn as Claude Code sends it, the call and its result in the history.
        var body = $$$"""
            {"model":"{{{RelayWithUpstreams.ModelFor(provider)}}}","max_tokens":100,
             "tools":[{"name":"{{{name}}}","description":"Weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
             "messages":[{"role":"user","content":"what is the weather in Paris?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"{{{call.ID}}}","name":"{{{name}}}","input":{"city":"Paris"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"{{{call.ID}}}","content":"sunny"}]}]}
            """;
        using var http = relay.Host.CreateClient();
        using var request = ClientRequest.Post("anthropic", RelayWithUpstreams.ModelFor(provider), relay.Key, body);
        using var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
        var answer = await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct);

        Assert.True(response.IsSuccessStatusCode, answer);
        Assert.Contains("Tool said:", answer, StringComparison.Ordinal);
        var sent = relay.Upstream.LastRequest.Json.GetRawText();
        Assert.DoesNotContain(name, sent, StringComparison.Ordinal);
        Assert.Contains(name[..55] + "_", sent, StringComparison.Ordinal);
    }

    /// <summary>
    /// Claude Code's WebSearch (its request as the CLI sends it): an Anthropic account runs the server tool; a model
    /// served by another provider answers 400 in Anthropic's shape before any upstream is called, rather than answer
    /// without searching as if it had.
    /// </summary>
    [Theory]
    [InlineData("anthropic", 200)]
    [InlineData("openai", 400)]
    [InlineData("gemini", 400)]
    public async Task AnthropicClient_ForcedWebSearch_RunsOnlyOnAnthropic(string provider, int expected)
    {
        var ct = TestContext.Current.CancellationToken;
        relay.Upstream.Reset();
        var body = $$$"""
            {"model":"{{{RelayWithUpstreams.ModelFor(provider)}}}","max_tokens":100,"system":"You are an assistant for performing a web search tool use",
             "messages":[{"role":"user","content":"Perform a web search for the query: serverless relay"}],
             "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":8}],
             "tool_choice":{"type":"tool","name":"web_search"}}
            """;
        using var http = relay.Host.CreateClient();
        using var request = ClientRequest.Post("anthropic", RelayWithUpstreams.ModelFor(provider), relay.Key, body);
        using var response = await http.SendAsync(request, ct).WaitAsync(Timeout, ct);
        var answer = await response.Content.ReadAsStringAsync(ct).WaitAsync(Timeout, ct);

        Assert.True((int)response.StatusCode == expected, answer);
        if (expected == 400)
        {
            Assert.Equal(new ClientError(400, "invalid_request_error",
                "tool_choice.name: web_search is Anthropic's server tool web_search_20250305, which runs only at Anthropic, and this model is served by translating the request for another provider; use a model an Anthropic account serves"),
                ClientError.Read("anthropic", (int)response.StatusCode, answer));
            Assert.Empty(relay.Upstream.Requests);
        }
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("anthropic")]
    public async Task ResponsesClient_CreateAndStream_AnswerAndUsage(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        var client = new ResponsesClient(new ApiKeyCredential(relay.Key), new ResponsesClientOptions { Endpoint = new Uri(relay.Host.BaseUri, "v1"), NetworkTimeout = Timeout, RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });
        var options = new CreateResponseOptions(RelayWithUpstreams.ModelFor(provider), [ResponseItem.CreateUserMessageItem("hello there")]) { MaxOutputTokenCount = 64 };

        var response = (await client.CreateResponseAsync(options, ct).WaitAsync(Timeout, ct)).Value;

        Assert.Equal("You said: hello there", response.GetOutputText());
        Assert.Equal(64, response.MaxOutputTokenCount); // the request's settings repeated, translated or not
        Assert.Equal(provider == "anthropic" ? 29 : 26, response.Usage.InputTokenCount);
        Assert.Equal(5, response.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(7, response.Usage.OutputTokenCount);

        var streamed = new StringBuilder();
        ResponseResult? completed = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        options.StreamingEnabled = true;
        await foreach (var update in await client.CreateResponseStreamingAsync(options, timeout.Token))
        {
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta: streamed.Append(delta.Delta); break;
                case StreamingResponseCompletedUpdate done: completed = done.Response; break;
            }
        }

        Assert.Equal("You said: hello there", streamed.ToString());
        Assert.NotNull(completed);
        Assert.Equal(7, completed.Usage.OutputTokenCount);
        Assert.Equal(64, completed.MaxOutputTokenCount);
    }

    /// <summary>
    /// Codex's apply_patch is a custom (freeform) tool: through an upstream of another format the SDK reads the model's
    /// call as a custom tool call, streamed or not, and the output it sends back reaches the upstream as that call's result.
    /// </summary>
    [Theory]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    [InlineData("openai-compatible")]
    public async Task ResponsesClient_CustomTool_CallAndOutputRoundTrip(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        var client = new ResponsesClient(new ApiKeyCredential(relay.Key), new ResponsesClientOptions { Endpoint = new Uri(relay.Host.BaseUri, "v1"), NetworkTimeout = Timeout, RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });
        var question = ResponseItem.CreateUserMessageItem("what is the weather in Paris?");
        var options = new CreateResponseOptions(RelayWithUpstreams.ModelFor(provider), [question]) { Tools = { ResponseTool.CreateCustomTool("apply_patch") } };

        var response = (await client.CreateResponseAsync(options, ct).WaitAsync(Timeout, ct)).Value;

        // The fake upstream calls the first tool with {"city":"Paris"}, which holds no input string: those arguments are the input.
        var call = Assert.IsType<CustomToolCallItem>(Assert.Single(response.OutputItems));
        Assert.Equal(("apply_patch", """{"city":"Paris"}"""), (call.ToolName, call.Input.Replace(" ", "", StringComparison.Ordinal)));

        string? streamedInput = null;
        CustomToolCallItem? streamedCall = null;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(Timeout);
            options.StreamingEnabled = true;
            await foreach (var update in await client.CreateResponseStreamingAsync(options, timeout.Token))
            {
                switch (update)
                {
                    case StreamingResponseCustomToolCallInputDoneUpdate done: streamedInput = done.Input; break;
                    case StreamingResponseOutputItemDoneUpdate { Item: CustomToolCallItem item }: streamedCall = item; break;
                }
            }
        }

        Assert.Equal(call.Input, streamedInput);
        Assert.Equal(("apply_patch", call.Input), (streamedCall?.ToolName, streamedCall?.Input));

        var output = ResponseItem.CreateCustomToolCallOutputItem(call.CallId, [ResponseContentPart.CreateInputTextPart("patched")]);
        var next = new CreateResponseOptions(RelayWithUpstreams.ModelFor(provider), [question, call, output]) { Tools = { ResponseTool.CreateCustomTool("apply_patch") } };

        var answer = (await client.CreateResponseAsync(next, ct).WaitAsync(Timeout, ct)).Value;

        Assert.StartsWith("Tool said:", answer.GetOutputText(), StringComparison.Ordinal);
        Assert.Contains("patched", answer.GetOutputText(), StringComparison.Ordinal);
    }

    /// <summary>Anthropic and the Gemini Developer API give no creation time: the relay stamps the answer's, never 1970.</summary>
    [Theory]
    [InlineData("openai")]
    [InlineData("anthropic")]
    [InlineData("gemini")]
    [InlineData("openai-compatible")]
    public async Task ResponsesClient_Create_CreatedAtIsWhenAnswered(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        var client = new ResponsesClient(new ApiKeyCredential(relay.Key), new ResponsesClientOptions { Endpoint = new Uri(relay.Host.BaseUri, "v1"), NetworkTimeout = Timeout, RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });
        var before = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        var response = (await client.CreateResponseAsync(new CreateResponseOptions(RelayWithUpstreams.ModelFor(provider), [ResponseItem.CreateUserMessageItem("hello there")]), ct).WaitAsync(Timeout, ct)).Value;

        Assert.InRange(response.CreatedAt, before, DateTimeOffset.UtcNow);
    }
}
