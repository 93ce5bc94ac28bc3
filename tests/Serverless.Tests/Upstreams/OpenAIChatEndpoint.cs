using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Serverless.Tests.Upstreams;

/// <summary>
/// Fake of <c>POST /v1/chat/completions</c> (https://platform.openai.com/docs/api-reference/chat) and of Azure
/// OpenAI's <c>/openai/deployments/{deployment}/chat/completions</c>, which differs only in auth, the required
/// <c>api-version</c>, its non-validation error shape and answering with the deployment as model.
/// </summary>
internal sealed class OpenAIChatEndpoint(string? azureDeployment) : UpstreamEndpoint
{
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool", "function"];

    private const string MissingApiVersion = "MissingApiVersionParameter";

    private bool IsAzure => azureDeployment is not null;

    public override UpstreamDialect Dialect => IsAzure ? UpstreamDialect.AzureOpenAIChat : UpstreamDialect.OpenAIChat;

    public override string MalformedJsonMessage =>
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";

    public override UpstreamFailure? Authenticate(HttpRequest request, string apiKey)
    {
        if (IsAzure)
        {
            return request.Headers["api-key"].ToString() == apiKey
                ? null
                : AzureError(StatusCodes.Status401Unauthorized, "401",
                    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.");
        }

        return OpenAIAuth.Check(request, apiKey);
    }

    public override UpstreamFailure Error(int status, string message, string? param = null, string? code = null) =>
        // Azure passes OpenAI's own 400 bodies through but answers everything else in its gateway shape.
        IsAzure && status != StatusCodes.Status400BadRequest
            ? AzureError(status, status.ToString(System.Globalization.CultureInfo.InvariantCulture), message)
            : OpenAIAuth.Error(status, message, param, code);

    public override UpstreamFailure Refuse(Invalid invalid) =>
        invalid.Code == MissingApiVersion ? AzureError(StatusCodes.Status400BadRequest, MissingApiVersion, invalid.Message) : base.Refuse(invalid);

    public override Invalid? Validate(JsonElement body, HttpRequest request)
    {
        if (IsAzure && string.IsNullOrEmpty(request.Query["api-version"]))
        {
            return new("The api-version query parameter (?api-version=) is required for all requests.", Code: MissingApiVersion);
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return new($"Invalid type for 'body': expected an object, but got {WireJson.Kind(body.ValueKind)} instead.", Code: "invalid_type");
        }

        // Azure takes the model from the deployment; OpenAI needs it in the body.
        if (!IsAzure && body.String("model") is null)
        {
            return new("you must provide a model parameter");
        }

        if (!body.Has("messages", out var messages))
        {
            return new("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            return new($"Invalid type for 'messages': expected an array of objects, but got {WireJson.Kind(messages.ValueKind)} instead.", "messages", "invalid_type");
        }

        if (messages.GetArrayLength() == 0)
        {
            return new("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array");
        }

        if (body.Has("stream_options", out var streamOptions) && streamOptions.ValueKind != JsonValueKind.Null && !body.IsTrue("stream"))
        {
            return new("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options", "invalid_value");
        }

        // OpenAI's own limit on the end-user id, in its words (quoted in LiteLLM's exception-mapping tests).
        if (body.String("user") is { Length: > 64 } user)
        {
            return new($"Invalid 'user': string too long. Expected a string with maximum length 64, but got a string with length {user.Length} instead.", "user", "string_above_max_length");
        }

        return ValidateMessages(messages) ?? ValidateTools(body) ?? ValidateMaxTokens(body);
    }

    /// <summary>The models whose output maximum the fake knows, as OpenAI documents them.</summary>
    private static readonly Dictionary<string, int> MaxCompletionTokens = new() { ["gpt-4o"] = 16384 };

    /// <summary>OpenAI refuses more output tokens than the model's maximum, in these words, rather than capping them.</summary>
    private static Invalid? ValidateMaxTokens(JsonElement body)
    {
        var asked = body.Integer("max_completion_tokens") ?? body.Integer("max_tokens");
        return asked is { } value && body.String("model") is { } model && MaxCompletionTokens.TryGetValue(model, out var max) && value > max
            ? new($"max_tokens is too large: {value}. This model supports at most {max} completion tokens, whereas you provided {value}.", "max_tokens", "invalid_value")
            : null;
    }

    private static Invalid? ValidateMessages(JsonElement messages)
    {
        HashSet<string>? awaitingResults = null; // tool_call ids of the last assistant turn without their tool message yet
        HashSet<string>? lastCallIds = null;
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var at = $"messages[{i}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                return new($"Invalid type for '{at}': expected an object, but got {WireJson.Kind(message.ValueKind)} instead.", at, "invalid_type");
            }

            if (!message.Has("role", out var roleElement))
            {
                return new($"Missing required parameter: '{at}.role'.", $"{at}.role", "missing_required_parameter");
            }

            var role = roleElement.ValueKind == JsonValueKind.String ? roleElement.GetString()! : roleElement.GetRawText();
            if (!Roles.Contains(role))
            {
                return new($"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", $"{at}.role", "invalid_value");
            }

            if (role != "tool" && awaitingResults is { Count: > 0 })
            {
                return new($"An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {string.Join(", ", awaitingResults)}", $"messages.[{i}].role");
            }

            if (ValidateContent(message, role, at) is { } contentError)
            {
                return contentError;
            }

            if (role == "assistant")
            {
                lastCallIds = null;
                awaitingResults = null;
                if (message.Has("tool_calls", out var toolCalls) && toolCalls.ValueKind == JsonValueKind.Array)
                {
                    lastCallIds = [];
                    var j = 0;
                    foreach (var call in toolCalls.EnumerateArray())
                    {
                        var callAt = $"{at}.tool_calls[{j++}]";
                        if (call.String("id") is not { } id)
                        {
                            return new($"Missing required parameter: '{callAt}.id'.", $"{callAt}.id", "missing_required_parameter");
                        }

                        if (!call.Has("function", out var function) || function.String("name") is null)
                        {
                            return new($"Missing required parameter: '{callAt}.function.name'.", $"{callAt}.function.name", "missing_required_parameter");
                        }

                        if (!function.Has("arguments", out var arguments) || arguments.ValueKind != JsonValueKind.String)
                        {
                            return new($"Invalid type for '{callAt}.function.arguments': expected a string, but got {WireJson.Kind(arguments.ValueKind)} instead.", $"{callAt}.function.arguments", "invalid_type");
                        }

                        lastCallIds.Add(id);
                    }

                    awaitingResults = [.. lastCallIds];
                }
            }
            else if (role == "tool")
            {
                if (message.String("tool_call_id") is not { } toolCallId)
                {
                    return new($"Missing required parameter: '{at}.tool_call_id'.", $"{at}.tool_call_id", "missing_required_parameter");
                }

                if (lastCallIds is null)
                {
                    // NOTE: "preceeding" is the real API's spelling.
                    return new("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", $"messages.[{i}].role");
                }

                if (!lastCallIds.Contains(toolCallId))
                {
                    return new($"Invalid parameter: 'tool_call_id' of '{toolCallId}' not found in 'tool_calls' of previous message.", $"messages.[{i}].tool_call_id");
                }

                awaitingResults?.Remove(toolCallId);
            }
            else
            {
                lastCallIds = null;
            }

            i++;
        }

        return awaitingResults is { Count: > 0 }
            ? new($"An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {string.Join(", ", awaitingResults)}", "messages")
            : null;
    }

    private static Invalid? ValidateContent(JsonElement message, string role, string at)
    {
        var hasContent = message.Has("content", out var content) && content.ValueKind != JsonValueKind.Null;
        if (!hasContent)
        {
            // Only an assistant turn that calls tools may leave content out.
            return role == "assistant" && message.Has("tool_calls", out _)
                ? null
                : new($"Invalid value for 'content': expected a string, got null.", $"{at}.content", "invalid_type");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return new($"Invalid type for '{at}.content': expected one of a string or array of objects, but got {WireJson.Kind(content.ValueKind)} instead.", $"{at}.content", "invalid_type");
        }

        var j = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partAt = $"{at}.content[{j++}]";
            var type = part.String("type");
            var allowed = role == "user" ? ["text", "image_url", "input_audio", "file"] : role == "assistant" ? ["text", "refusal"] : new[] { "text" };
            if (type is null || !allowed.Contains(type))
            {
                return new($"Invalid value: '{type}'. Supported values are: {string.Join(", ", allowed.Select(a => $"'{a}'"))}.", $"{partAt}.type", "invalid_value");
            }

            if (type == "text" && part.String("text") is null)
            {
                return new($"Missing required parameter: '{partAt}.text'.", $"{partAt}.text", "missing_required_parameter");
            }

            if (type == "image_url" && (!part.Has("image_url", out var image) || image.String("url") is null))
            {
                return new($"Missing required parameter: '{partAt}.image_url.url'.", $"{partAt}.image_url.url", "missing_required_parameter");
            }
        }

        return null;
    }

    private static Invalid? ValidateTools(JsonElement body)
    {
        var k = 0;
        foreach (var tool in body.Items("tools"))
        {
            var at = $"tools[{k++}]";
            if (tool.String("type") != "function")
            {
                return new($"Invalid value: '{tool.String("type")}'. Supported values are: 'function' and 'custom'.", $"{at}.type", "invalid_value");
            }

            if (!tool.Has("function", out var function) || function.String("name") is null)
            {
                return new($"Missing required parameter: '{at}.function.name'.", $"{at}.function.name", "missing_required_parameter");
            }

            // OpenAI's own refusal of a long name (Claude Code's MCP tools, mcp__{server}__{tool}, meet it).
            if (function.String("name") is { Length: > 64 } name)
            {
                return new($"Invalid '{at}.function.name': string too long. Expected a string with maximum length 64, but got a string with length {name.Length} instead.", $"{at}.function.name", "string_above_max_length");
            }
        }

        return null;
    }

    public override Task AnswerAsync(HttpContext context, JsonElement body, UpstreamScript script)
    {
        var reply = ReplyRule.Decide(ReadFacts(body), script);
        var model = azureDeployment ?? body.String("model")!;
        var id = "chatcmpl-loopback" + NextId();
        var created = UnixNow();
        if (!body.IsTrue("stream"))
        {
            return WriteJsonAsync(context, Completion(reply, id, created, model), script);
        }

        var includeUsage = body.Has("stream_options", out var options) && options.IsTrue("include_usage");
        return SseStream.WriteAsync(context, Chunks(reply, id, created, model, includeUsage), ErrorEvent, script);
    }

    private static ConversationFacts ReadFacts(JsonElement body)
    {
        var messages = body.Items("messages").ToList();
        var system = messages.FirstOrDefault(m => m.String("role") is "system" or "developer");
        var lastUser = messages.LastOrDefault(m => m.String("role") == "user");
        var last = messages[^1];
        var images = new List<string>();
        if (lastUser.Has("content", out var userContent) && userContent.ValueKind == JsonValueKind.Array)
        {
            foreach (var part in userContent.EnumerateArray())
            {
                if (part.String("type") == "image_url" && part.Has("image_url", out var image))
                {
                    images.Add(ReplyRule.UrlImage(image.String("url")!));
                }
            }
        }

        return new ConversationFacts
        {
            SystemText = system.Has("content", out var systemContent) ? WireJson.TextOf(systemContent, "text") : null,
            LastUserText = lastUser.Has("content", out var content) ? WireJson.TextOf(content, "text") : "",
            Images = images,
            ToolResult = last.String("role") == "tool" && last.Has("content", out var result) ? WireJson.TextOf(result, "text") : null,
            FirstToolName = body.Items("tools").Select(t => t.Has("function", out var f) ? f.String("name") : null).FirstOrDefault(),
            MaxTokens = body.Integer("max_completion_tokens") ?? body.Integer("max_tokens"),
        };
    }

    private static string FinishReason(UpstreamReply reply) => reply.IsToolCall ? "tool_calls" : reply.Truncated ? "length" : "stop";

    private static JsonObject Usage() => new()
    {
        ["prompt_tokens"] = CanonicalUsage.PromptTotal,
        ["completion_tokens"] = CanonicalUsage.Output,
        ["total_tokens"] = CanonicalUsage.Total,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = CanonicalUsage.CacheRead, ["audio_tokens"] = 0 },
        ["completion_tokens_details"] = new JsonObject
        {
            ["reasoning_tokens"] = 0, ["audio_tokens"] = 0, ["accepted_prediction_tokens"] = 0, ["rejected_prediction_tokens"] = 0,
        },
    };

    private static JsonObject ToolCall(string name, string arguments) => new()
    {
        ["id"] = "call_w1",
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
    };

    private static JsonObject Completion(UpstreamReply reply, string id, long created, string model)
    {
        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = reply.Text,
            ["refusal"] = null,
        };
        if (reply.ToolName is { } tool)
        {
            message["tool_calls"] = new JsonArray(ToolCall(tool, UpstreamReply.ToolArguments));
        }

        return new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = message,
                ["logprobs"] = null,
                ["finish_reason"] = FinishReason(reply),
            }),
            ["usage"] = Usage(),
            ["system_fingerprint"] = "fp_loopback",
        };
    }

    private static List<SseEvent> Chunks(UpstreamReply reply, string id, long created, string model, bool includeUsage)
    {
        var events = new List<SseEvent>();
        void Add(JsonObject delta, string? finishReason = null, bool isContent = false)
        {
            var chunk = Chunk(id, created, model, new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["delta"] = delta,
                ["logprobs"] = null,
                ["finish_reason"] = finishReason,
            }));
            if (includeUsage)
            {
                chunk["usage"] = null;
            }

            events.Add(SseEvent.Of(null, chunk, isContent));
        }

        Add(new JsonObject { ["role"] = "assistant", ["content"] = reply.IsToolCall ? null : "", ["refusal"] = null });
        if (reply.ToolName is { } tool)
        {
            var first = ToolCall(tool, "");
            first["index"] = 0;
            Add(new JsonObject { ["tool_calls"] = new JsonArray(first) }, isContent: true);
            foreach (var fragment in UpstreamReply.ToolArgumentFragments)
            {
                Add(new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = fragment } }),
                }, isContent: true);
            }
        }

        foreach (var word in reply.Deltas)
        {
            Add(new JsonObject { ["content"] = word }, isContent: true);
        }

        Add([], FinishReason(reply));
        if (includeUsage)
        {
            var usageChunk = Chunk(id, created, model, []);
            usageChunk["usage"] = Usage();
            events.Add(SseEvent.Of(null, usageChunk));
        }

        events.Add(new SseEvent(null, "[DONE]"));
        return events;
    }

    private static JsonObject Chunk(string id, long created, string model, JsonArray choices) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
        ["system_fingerprint"] = "fp_loopback",
        ["choices"] = choices,
    };

    private static SseEvent ErrorEvent(string message, int sent) =>
        SseEvent.Of(null, OpenAIAuth.Error(StatusCodes.Status500InternalServerError, message, null, null).Body);

    private static UpstreamFailure AzureError(int status, string code, string message) =>
        new(status, new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } });
}

/// <summary>Bearer auth and the error shape shared by OpenAI's chat and Responses endpoints.</summary>
internal static class OpenAIAuth
{
    public static UpstreamFailure? Check(HttpRequest request, string apiKey)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return Error(StatusCodes.Status401Unauthorized,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
                null, null);
        }

        var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : header;
        if (presented == apiKey)
        {
            return null;
        }

        // The real API shows only the key's edges.
        var masked = presented.Length > 8 ? $"{presented[..3]}*****{presented[^4..]}" : "*****";
        return Error(StatusCodes.Status401Unauthorized,
            $"Incorrect API key provided: {masked}. You can find your API key at https://platform.openai.com/account/api-keys.", null, "invalid_api_key");
    }

    public static UpstreamFailure Error(int status, string message, string? param, string? code)
    {
        var (type, defaultCode) = status switch
        {
            StatusCodes.Status429TooManyRequests => ("requests", "rate_limit_exceeded"),
            >= 500 => ("server_error", null),
            _ => ("invalid_request_error", (string?)null),
        };
        return new(status, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = message,
                ["type"] = type,
                ["param"] = param,
                ["code"] = code ?? defaultCode,
            },
        });
    }
}
