using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>What a client API's error body said, read the way that API's SDK reads it.</summary>
internal sealed record ClientError(int Status, string Type, string Message)
{
    public static ClientError Read(string client, int status, string body)
    {
        var root = JsonDocument.Parse(body).RootElement;
        switch (client)
        {
            case "anthropic":
                Assert.Equal("error", root.GetProperty("type").GetString());
                return new(status, root.GetProperty("error").GetProperty("type").GetString()!, root.GetProperty("error").GetProperty("message").GetString()!);
            case "gemini":
                var error = root.GetProperty("error");
                Assert.Equal(status, error.GetProperty("code").GetInt32());
                return new(status, error.GetProperty("status").GetString()!, error.GetProperty("message").GetString()!);
            default:
                var openai = root.GetProperty("error");
                var code = openai.GetProperty("code");
                return new(status, code.ValueKind == JsonValueKind.String ? code.GetString()! : openai.GetProperty("type").GetString()!, openai.GetProperty("message").GetString()!);
        }
    }
}

/// <summary>Every failure answers in the client API's own error shape, with the right status.</summary>
[Collection(ScriptedCollection.Name)]
public sealed class ErrorShapeTests
{
    private readonly RelayWithUpstreams _relay;

    public ErrorShapeTests(RelayWithUpstreams relay)
    {
        _relay = relay;
        relay.StartClean();
    }

    private static readonly ClientDriver[] Clients = [new OpenAIChatDriver(), new ResponsesDriver(), new AnthropicDriver(), new GeminiDriver()];

    private static ClientDriver Client(string name) => Clients.Single(c => c.Name == name);

    private async Task<(ClientError Error, HttpResponseMessage Response)> SendAsync(string client, HttpRequestMessage request)
    {
        using var http = _relay.Host.CreateClient();
        var response = await http.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (ClientError.Read(client, (int)response.StatusCode, body), response);
    }

    private HttpRequestMessage WithBody(string client, string provider, string body)
    {
        var request = Client(client).Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), false, _relay.Key);
        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        return request;
    }

    [Theory]
    [InlineData("openai-chat", "invalid_request_error")]
    [InlineData("openai-responses", "invalid_request_error")]
    [InlineData("anthropic", "invalid_request_error")]
    [InlineData("gemini", "INVALID_ARGUMENT")]
    public async Task BadJson_Answers400InClientShape(string client, string type)
    {
        var (error, _) = await SendAsync(client, WithBody(client, "openai", "{\"model\": "));

        Assert.Equal(400, error.Status);
        Assert.Equal(type, error.Type);
        Assert.StartsWith("Request body is not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("openai-chat", """{"model":"m-openai"}""", "messages")]
    [InlineData("openai-responses", """{"model":"m-openai"}""", "input")]
    [InlineData("anthropic", """{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}""", "max_tokens")]
    [InlineData("gemini", """{"generationConfig":{}}""", "contents")]
    public async Task MissingField_Answers400NamingTheField(string client, string body, string field)
    {
        var (error, _) = await SendAsync(client, WithBody(client, "openai", body));

        Assert.Equal(400, error.Status);
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("openai-chat", "model_not_found")]
    [InlineData("openai-responses", "model_not_found")]
    [InlineData("anthropic", "not_found_error")]
    [InlineData("gemini", "NOT_FOUND")]
    public async Task UnknownModel_Answers404InClientShape(string client, string type)
    {
        var (error, _) = await SendAsync(client, Client(client).Build(Scenario.Text, "no-such-model", false, _relay.Key));

        Assert.Equal(404, error.Status);
        Assert.Equal(type, error.Type);
        Assert.Equal("The model 'no-such-model' does not exist or is not served by this relay.", error.Message);
    }

    /// <summary>A model name is kept per process and in storage keys, so its length is bounded: one past it is refused as invalid, the longest allowed is looked up.</summary>
    [Theory]
    [InlineData("openai-chat", "invalid_request_error", "model_not_found")]
    [InlineData("openai-responses", "invalid_request_error", "model_not_found")]
    [InlineData("anthropic", "invalid_request_error", "not_found_error")]
    [InlineData("gemini", "INVALID_ARGUMENT", "NOT_FOUND")]
    public async Task ModelLongerThanTheBound_Answers400InClientShape_TheLongestAllowedIsLookedUp(string client, string invalid, string notFound)
    {
        var (tooLong, _) = await SendAsync(client, Client(client).Build(Scenario.Text, new string('m', RequestHead.MaxModelLength + 1), false, _relay.Key));
        var (longest, _) = await SendAsync(client, Client(client).Build(Scenario.Text, new string('m', RequestHead.MaxModelLength), false, _relay.Key));

        Assert.Equal((400, invalid), (tooLong.Status, tooLong.Type));
        Assert.Equal($"model: must be at most {RequestHead.MaxModelLength} characters", tooLong.Message);
        Assert.Equal((404, notFound), (longest.Status, longest.Type));
    }

    [Theory]
    [InlineData("openai-chat", "invalid_api_key")]
    [InlineData("openai-responses", "invalid_api_key")]
    [InlineData("anthropic", "authentication_error")]
    [InlineData("gemini", "UNAUTHENTICATED")]
    public async Task UnknownKey_Answers401InClientShape(string client, string type)
    {
        var (error, _) = await SendAsync(client, Client(client).Build(Scenario.Text, "m-openai", false, "sk-relay-not-a-real-key"));

        Assert.Equal(401, error.Status);
        Assert.Equal(type, error.Type);
        Assert.Equal("Invalid API key.", error.Message);
    }

    [Fact]
    public async Task MissingKey_Answers401SayingWhereToPutIt()
    {
        var request = Client("openai-chat").Build(Scenario.Text, "m-openai", false, "x");
        request.Headers.Authorization = null;

        var (error, _) = await SendAsync("openai-chat", request);

        Assert.Equal(401, error.Status);
        Assert.StartsWith("Missing API key", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("anthropic", "openai", 500, 502, "api_error")]
    [InlineData("openai-chat", "anthropic", 500, 502, "server_error")]
    [InlineData("gemini", "openai", 400, 400, "INVALID_ARGUMENT")]
    [InlineData("openai-responses", "gemini", 503, 503, "service_unavailable")]
    [InlineData("anthropic", "gemini", 529, 529, "overloaded_error")]
    public async Task UpstreamFailure_Translated_MappedToClientShapeWithUpstreamMessage(string client, string provider, int upstreamStatus, int status, string type)
    {
        _relay.Upstream.Script = new UpstreamScript { FailStatus = upstreamStatus, FailMessage = "the upstream fell over" };
        try
        {
            var (error, _) = await SendAsync(client, Client(client).Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), false, _relay.Key));

            Assert.Equal(status, error.Status);
            Assert.Equal(type, error.Type);
            Assert.Contains("the upstream fell over", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }

    /// <summary>
    /// An agent compacts its conversation when told it no longer fits, in its own API's words: Claude Code looks for
    /// "prompt is too long" in the message, OpenAI's clients for the code <c>context_length_exceeded</c>.
    /// </summary>
    [Theory]
    [InlineData("anthropic", "openai", "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.", "invalid_request_error")]
    [InlineData("anthropic", "gemini", "The input token count (1100000) exceeds the maximum number of tokens allowed (1048576).", "invalid_request_error")]
    [InlineData("openai-chat", "anthropic", "prompt is too long: 210345 tokens > 200000 maximum", "context_length_exceeded")]
    [InlineData("openai-responses", "gemini", "The input token count (1100000) exceeds the maximum number of tokens allowed (1048576).", "context_length_exceeded")]
    [InlineData("gemini", "openai", "Your input exceeds the context window of this model.", "INVALID_ARGUMENT")]
    public async Task UpstreamContextExceeded_Translated_SaidInTheClientsOwnWords(string client, string provider, string upstreamMessage, string type)
    {
        _relay.Upstream.Script = new UpstreamScript { FailStatus = 400, FailMessage = upstreamMessage };
        try
        {
            var (error, _) = await SendAsync(client, Client(client).Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), false, _relay.Key));

            Assert.Equal(400, error.Status);
            Assert.Equal(type, error.Type);
            Assert.Contains("prompt is too long", error.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Contains(upstreamMessage, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }

    [Fact]
    public async Task UpstreamOtherBadRequest_Translated_NotCalledAContextOverflow()
    {
        _relay.Upstream.Script = new UpstreamScript { FailStatus = 400, FailMessage = "temperature: must be at most 2" };
        try
        {
            var (error, _) = await SendAsync("openai-chat", Client("openai-chat").Build(Scenario.Text, RelayWithUpstreams.ModelFor("anthropic"), false, _relay.Key));

            Assert.Equal("invalid_request_error", error.Type);
            Assert.DoesNotContain("prompt is too long", error.Message, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }

    [Theory]
    [InlineData("openai-chat", "openai")]
    [InlineData("anthropic", "anthropic")]
    [InlineData("gemini", "gemini")]
    public async Task UpstreamFailure_SameFormat_RelayedExactly(string client, string provider)
    {
        _relay.Upstream.Script = new UpstreamScript { FailStatus = 500, FailMessage = "exactly this" };
        try
        {
            var (error, _) = await SendAsync(client, Client(client).Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), false, _relay.Key));

            Assert.Equal(500, error.Status);
            Assert.Contains("exactly this", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }

    [Theory]
    [InlineData("openai-chat", "openai")]
    [InlineData("anthropic", "openai")]
    [InlineData("gemini", "anthropic")]
    public async Task UpstreamRateLimit_Answers429WithRetryAfter(string client, string provider)
    {
        _relay.Upstream.Script = new UpstreamScript { FailStatus = 429, RetryAfter = TimeSpan.FromSeconds(7) };
        try
        {
            var (error, response) = await SendAsync(client, Client(client).Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), false, _relay.Key));

            Assert.Equal(429, error.Status);
            Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }

    [Theory]
    [InlineData("openai-chat", "openai", 401)]
    [InlineData("anthropic", "openai", 401)]
    [InlineData("gemini", "gemini", 400)] // Gemini's 400 API_KEY_INVALID, relayed as it came before
    [InlineData("openai-chat", "gemini", 400)]
    public async Task UpstreamRefusesAccountKey_Answers502WithoutUpstreamText(string client, string provider, int upstreamStatus)
    {
        _relay.Upstream.ApiKey = "the-account-key-is-now-wrong";
        try
        {
            var (error, _) = await SendAsync(client, Client(client).Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), false, _relay.Key));

            Assert.Equal(502, error.Status);
            Assert.Equal($"The upstream account '{provider} account' was refused by {provider} ({upstreamStatus}).", error.Message);
        }
        finally
        {
            _relay.Upstream.ApiKey = "upstream-secret";
        }
    }

    [Theory]
    [InlineData("openai-chat", "openai", null)]
    [InlineData("openai-chat", "anthropic", null)]
    [InlineData("anthropic", "openai", "error")]
    [InlineData("anthropic", "anthropic", "error")]
    [InlineData("openai-responses", "anthropic", "response.failed")]
    public async Task StreamBrokenMidway_EndsWithErrorEventInClientFormat(string client, string provider, string? eventName)
    {
        _relay.Upstream.Script = new UpstreamScript { BreakAfterEvents = 3, ReplyWords = 20 };
        try
        {
            using var http = _relay.Host.CreateClient();
            using var request = Client(client).Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), true, _relay.Key);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
            var events = new List<ArrivedEvent>();
            await foreach (var arrived in SseArrivals.ReadAsync(response, System.Diagnostics.Stopwatch.StartNew(), TestContext.Current.CancellationToken))
            {
                events.Add(arrived);
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var last = events[^1];
            Assert.Equal(eventName, last.Event);
            var root = JsonDocument.Parse(last.Data).RootElement;
            var error = (eventName == "response.failed" ? root.GetProperty("response") : root).GetProperty("error");
            Assert.Contains("broke off", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            if (eventName == "response.failed")
            {
                // The SDKs raise the error event before it; Codex reads only response.failed.
                Assert.Equal("error", events[^2].Event);
            }
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("gemini")]
    public async Task StreamBrokenMidway_GeminiClient_EndsWithUnframedErrorLine(string provider)
    {
        _relay.Upstream.Script = new UpstreamScript { BreakAfterEvents = 3, ReplyWords = 20 };
        try
        {
            using var http = _relay.Host.CreateClient();
            using var request = Client("gemini").Build(Scenario.Text, RelayWithUpstreams.ModelFor(provider), true, _relay.Key);
            using var response = await http.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

            // js-genai (Gemini CLI) raises an error only for {"error":...} outside a data: frame.
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("data: ", body, StringComparison.Ordinal);
            Assert.EndsWith("}\n", body, StringComparison.Ordinal);
            var last = body.TrimEnd('\n').Split('\n')[^1];
            var error = JsonDocument.Parse(last).RootElement.GetProperty("error");
            Assert.Contains("broke off", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            _relay.Upstream.Reset();
        }
    }
}
