using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Serverless.Tests.Upstreams;

/// <summary>
/// Fake of Anthropic's <c>POST /v1/messages</c> and <c>/v1/messages/count_tokens</c>
/// (https://docs.anthropic.com/en/api/messages, https://docs.anthropic.com/en/docs/build-with-claude/streaming).
/// Stricter than today's API in one place on purpose: roles must alternate, so a relay that forgets to merge
/// consecutive turns is caught.
/// </summary>
internal sealed class AnthropicEndpoint(bool countTokens) : UpstreamEndpoint
{
    private static readonly string[] BlockTypes =
        ["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result", "search_result"];

    private static readonly string[] ImageMediaTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    public override UpstreamDialect Dialect => countTokens ? UpstreamDialect.AnthropicCountTokens : UpstreamDialect.Anthropic;

    public override string MalformedJsonMessage => "There was an issue with your request body: could not parse the body as JSON.";

    public override UpstreamFailure? Authenticate(HttpRequest request, string apiKey)
    {
        var presented = request.Headers["x-api-key"].ToString();
        return presented.Length == 0 ? Error(StatusCodes.Status401Unauthorized, "x-api-key header is required")
            : presented != apiKey ? Error(StatusCodes.Status401Unauthorized, "invalid x-api-key")
            : null;
    }

    public override UpstreamFailure Error(int status, string message, string? param = null, string? code = null)
    {
        var type = status switch
        {
            400 => "invalid_request_error",
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            504 => "timeout_error",
            529 => "overloaded_error",
            >= 500 => "api_error",
            _ => "invalid_request_error",
        };
        return new(status, new JsonObject
        {
            ["type"] = "error",
            ["error"] = new JsonObject { ["type"] = type, ["message"] = message },
            ["request_id"] = "req_loopback" + NextId(),
        });
    }

    public override Invalid? Validate(JsonElement body, HttpRequest request)
    {
        if (string.IsNullOrEmpty(request.Headers["anthropic-version"]))
        {
            return new("anthropic-version: header is required");
        }

        if (body.String("model") is null)
        {
            return new("model: Field required");
        }

        if (!countTokens)
        {
            if (!body.Has("max_tokens", out var maxTokens))
            {
                return new("max_tokens: Field required");
            }

            if (maxTokens.ValueKind != JsonValueKind.Number || !maxTokens.TryGetInt64(out _))
            {
                return new("max_tokens: Input should be a valid integer");
            }
        }

        if (body.Has("system", out var system) && system.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return new("system: Input should be a valid list");
        }

        if (!body.Has("messages", out var messages))
        {
            return new("messages: Field required");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            return new("messages: Input should be a valid list");
        }

        if (messages.GetArrayLength() == 0)
        {
            return new("messages: at least one message is required");
        }

        return ValidateMessages(messages.EnumerateArray().ToList()) ?? ValidateTools(body);
    }

    private static Invalid? ValidateMessages(List<JsonElement> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            var role = message.String("role");
            if (role is not ("user" or "assistant"))
            {
                return new($"messages.{i}.role: Input should be 'user' or 'assistant'");
            }

            if (i == 0 && role != "user")
            {
                return new("messages: first message must use the \"user\" role");
            }

            if (i > 0 && messages[i - 1].String("role") == role)
            {
                return new($"messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row");
            }

            if (!message.Has("content", out var content) || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
            {
                return new($"messages.{i}.content: Input should be a valid list");
            }

            var blocks = content.ValueKind == JsonValueKind.Array ? content.EnumerateArray().ToList() : [];
            for (var j = 0; j < blocks.Count; j++)
            {
                if (ValidateBlock(blocks[j], $"messages.{i}.content.{j}", role, i, messages) is { } blockError)
                {
                    return blockError;
                }
            }

            // Every tool_use must be answered by a tool_result in the very next (user) message; checked after this
            // message's own blocks so a stray tool_result id is reported first.
            if (i > 0 && UnansweredToolUses(messages[i - 1], message) is { } missing)
            {
                return Unanswered(i, missing);
            }
        }

        return UnansweredToolUses(messages[^1], default) is { } unanswered ? Unanswered(messages.Count, unanswered) : null;
    }

    /// <summary>The tool_use ids of <paramref name="assistant"/> that <paramref name="next"/> does not answer, or null.</summary>
    private static string? UnansweredToolUses(JsonElement assistant, JsonElement next)
    {
        var answered = ToolResultIds(next);
        var missing = assistant.Items("content").Where(b => b.String("type") == "tool_use").Select(b => b.String("id")!).Where(id => !answered.Contains(id)).ToList();
        return missing.Count == 0 ? null : string.Join(", ", missing);
    }

    private static Invalid Unanswered(int index, string ids) =>
        new($"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after: {ids}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.");

    private static Invalid? ValidateBlock(JsonElement block, string at, string role, int index, List<JsonElement> messages)
    {
        var type = block.String("type");
        if (type is null || !BlockTypes.Contains(type))
        {
            return new($"{at}: Input tag '{type}' found using 'type' does not match any of the expected tags: {string.Join(", ", BlockTypes.Select(t => $"'{t}'"))}");
        }

        switch (type)
        {
            case "text" when block.String("text") is null:
                return new($"{at}.text.text: Field required");
            case "image":
                if (!block.Has("source", out var source))
                {
                    return new($"{at}.image.source: Field required");
                }

                var sourceType = source.String("type");
                if (sourceType == "base64")
                {
                    var mediaType = source.String("media_type");
                    if (mediaType is null || !ImageMediaTypes.Contains(mediaType))
                    {
                        return new($"{at}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'");
                    }

                    return source.String("data") is null ? new($"{at}.image.source.base64.data: Field required") : null;
                }

                if (sourceType == "url")
                {
                    return source.String("url") is null ? new($"{at}.image.source.url.url: Field required") : null;
                }

                return new($"{at}.image.source: Input tag '{sourceType}' found using 'type' does not match any of the expected tags: 'base64', 'url'");
            case "tool_use":
                if (role != "assistant")
                {
                    return new($"{at}: tool_use blocks can only be in assistant messages");
                }

                if (block.String("id") is null || block.String("name") is null)
                {
                    return new($"{at}.tool_use.id: Field required");
                }

                return block.Has("input", out var input) && input.ValueKind == JsonValueKind.Object
                    ? null
                    : new($"{at}.tool_use.input: Input should be a valid dictionary");
            case "tool_result":
                var toolUseId = block.String("tool_use_id");
                if (toolUseId is null)
                {
                    return new($"{at}.tool_result.tool_use_id: Field required");
                }

                var previous = index > 0 && role == "user" ? messages[index - 1] : default;
                var offered = previous.Items("content").Where(b => b.String("type") == "tool_use").Select(b => b.String("id")).ToList();
                if (!offered.Contains(toolUseId))
                {
                    return new($"{at}: unexpected `tool_use_id` found in `tool_result` blocks: {toolUseId}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.");
                }

                return block.Has("content", out var resultContent) && resultContent.ValueKind is not (JsonValueKind.String or JsonValueKind.Array)
                    ? new($"{at}.tool_result.content: Input should be a valid list")
                    : null;
            default:
                return null;
        }
    }

    private static HashSet<string> ToolResultIds(JsonElement message) =>
        [.. message.Items("content").Where(b => b.String("type") == "tool_result").Select(b => b.String("tool_use_id") ?? "")];

    private static Invalid? ValidateTools(JsonElement body)
    {
        var k = 0;
        foreach (var tool in body.Items("tools"))
        {
            var at = $"tools.{k++}";
            // Custom (client) tools have no type or "custom"; server tools carry a versioned type and no schema.
            if (tool.String("type") is null or "custom")
            {
                if (tool.String("name") is null)
                {
                    return new($"{at}.custom.name: Field required");
                }

                if (!tool.Has("input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    return new($"{at}.custom.input_schema: Field required");
                }
            }
        }

        return null;
    }

    public override Task AnswerAsync(HttpContext context, JsonElement body, UpstreamScript script)
    {
        context.Response.Headers["request-id"] = "req_loopback" + NextId();
        if (countTokens)
        {
            return WriteJsonAsync(context, new JsonObject { ["input_tokens"] = CanonicalUsage.CountTokens }, script);
        }

        var reply = ReplyRule.Decide(ReadFacts(body), script);
        var id = "msg_loopback" + NextId();
        var model = body.String("model")!;
        return body.IsTrue("stream")
            ? SseStream.WriteAsync(context, Events(reply, id, model), ErrorEvent, script)
            : WriteJsonAsync(context, Message(reply, id, model, Content(reply, complete: true), StopReason(reply), FinalUsage()), script);
    }

    private static ConversationFacts ReadFacts(JsonElement body)
    {
        var messages = body.Items("messages").ToList();
        var lastUser = messages.LastOrDefault(m => m.String("role") == "user");
        var last = messages[^1];
        var lastToolResult = last.String("role") == "user"
            ? last.Items("content").LastOrDefault(b => b.String("type") == "tool_result")
            : default;
        var images = new List<string>();
        foreach (var image in lastUser.Items("content").Where(b => b.String("type") == "image"))
        {
            image.Has("source", out var source);
            images.Add(source.String("type") == "url"
                ? "url " + source.String("url")
                : ReplyRule.Base64Image(source.String("media_type"), source.String("data") ?? ""));
        }

        return new ConversationFacts
        {
            SystemText = body.Has("system", out var system) ? WireJson.TextOf(system, "text") : null,
            LastUserText = lastUser.Has("content", out var content) ? WireJson.TextOf(content, "text") : "",
            Images = images,
            ToolResult = lastToolResult.ValueKind == JsonValueKind.Object
                ? (lastToolResult.Has("content", out var result) ? WireJson.TextOf(result, "text") : "")
                : null,
            FirstToolName = body.Items("tools").Select(t => t.String("name")).FirstOrDefault(),
            MaxTokens = body.Integer("max_tokens"),
        };
    }

    private static string StopReason(UpstreamReply reply) => reply.IsToolCall ? "tool_use" : reply.Truncated ? "max_tokens" : "end_turn";

    private static JsonArray Content(UpstreamReply reply, bool complete) => reply.ToolName is { } tool
        ? new JsonArray(new JsonObject
        {
            ["type"] = "tool_use",
            ["id"] = "toolu_w1",
            ["name"] = tool,
            ["input"] = complete ? JsonNode.Parse(UpstreamReply.ToolArguments) : new JsonObject(),
        })
        : new JsonArray(new JsonObject { ["type"] = "text", ["text"] = complete ? reply.Text : "" });

    private static JsonObject FinalUsage() => new()
    {
        ["input_tokens"] = CanonicalUsage.UncachedInput,
        ["cache_creation_input_tokens"] = CanonicalUsage.CacheWrite,
        ["cache_read_input_tokens"] = CanonicalUsage.CacheRead,
        ["output_tokens"] = CanonicalUsage.Output,
    };

    private static JsonObject Message(UpstreamReply reply, string id, string model, JsonArray content, string? stopReason, JsonObject usage) => new()
    {
        ["id"] = id,
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = model,
        ["content"] = content,
        ["stop_reason"] = stopReason,
        ["stop_sequence"] = null,
        ["usage"] = usage,
    };

    private static List<SseEvent> Events(UpstreamReply reply, string id, string model)
    {
        var startUsage = FinalUsage();
        startUsage["output_tokens"] = 1; // message_start reports the input side; output arrives in message_delta
        var events = new List<SseEvent>
        {
            SseEvent.Of("message_start", new JsonObject { ["type"] = "message_start", ["message"] = Message(reply, id, model, [], null, startUsage) }),
            SseEvent.Of("ping", new JsonObject { ["type"] = "ping" }),
            SseEvent.Of("content_block_start", new JsonObject
            {
                ["type"] = "content_block_start", ["index"] = 0, ["content_block"] = Content(reply, complete: false)[0]!.DeepClone(),
            }),
        };
        var deltas = reply.IsToolCall
            ? UpstreamReply.ToolArgumentFragments.Select(f => new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = f })
            : reply.Deltas.Select(w => new JsonObject { ["type"] = "text_delta", ["text"] = w });
        events.AddRange(deltas.Select(delta => SseEvent.Of("content_block_delta", new JsonObject
        {
            ["type"] = "content_block_delta", ["index"] = 0, ["delta"] = delta,
        }, isContent: true)));
        events.Add(SseEvent.Of("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = 0 }));
        events.Add(SseEvent.Of("message_delta", new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = StopReason(reply), ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = CanonicalUsage.Output },
        }));
        events.Add(SseEvent.Of("message_stop", new JsonObject { ["type"] = "message_stop" }));
        return events;
    }

    private static SseEvent ErrorEvent(string message, int sent) => SseEvent.Of("error", new JsonObject
    {
        ["type"] = "error",
        ["error"] = new JsonObject { ["type"] = "overloaded_error", ["message"] = message },
    });
}
