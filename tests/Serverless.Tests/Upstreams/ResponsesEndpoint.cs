using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Serverless.Tests.Upstreams;

/// <summary>
/// Fake of <c>POST /v1/responses</c> (https://platform.openai.com/docs/api-reference/responses): stateless input
/// items, flat function tools, and the semantic event stream ending in <c>response.completed</c> or
/// <c>response.incomplete</c> (no <c>[DONE]</c>).
/// </summary>
internal sealed class ResponsesEndpoint : UpstreamEndpoint
{
    private static readonly string[] Roles = ["user", "assistant", "system", "developer"];
    private static readonly string[] ItemTypes = ["message", "function_call", "function_call_output", "reasoning", "item_reference"];

    public override UpstreamDialect Dialect => UpstreamDialect.OpenAIResponses;

    public override string MalformedJsonMessage =>
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";

    public override UpstreamFailure? Authenticate(HttpRequest request, string apiKey) => OpenAIAuth.Check(request, apiKey);

    public override UpstreamFailure Error(int status, string message, string? param = null, string? code = null) =>
        OpenAIAuth.Error(status, message, param, code);

    public override Invalid? Validate(JsonElement body, HttpRequest request)
    {
        if (body.String("model") is null)
        {
            return new("Missing required parameter: 'model'.", "model", "missing_required_parameter");
        }

        if (!body.Has("input", out var input))
        {
            // What the model reads may be in OpenAI's store instead: a stored response, conversation or prompt template.
            return body.String("previous_response_id") is not null || body.Has("conversation", out _) || body.Has("prompt", out _)
                ? ValidateTools(body)
                : new("Missing required parameter: 'input'.", "input", "missing_required_parameter");
        }

        if (body.Has("max_output_tokens", out var max) && max.ValueKind is not (JsonValueKind.Number or JsonValueKind.Null))
        {
            return new($"Invalid type for 'max_output_tokens': expected an integer, but got {WireJson.Kind(max.ValueKind)} instead.", "max_output_tokens", "invalid_type");
        }

        return input.ValueKind switch
        {
            JsonValueKind.String => ValidateTools(body),
            JsonValueKind.Array => ValidateItems(input, continuesStored: body.String("previous_response_id") is not null) ?? ValidateTools(body),
            _ => new($"Invalid type for 'input': expected one of a string or array of input items, but got {WireJson.Kind(input.ValueKind)} instead.", "input", "invalid_type"),
        };
    }

    /// <param name="continuesStored">
    /// The request continues a stored response (<c>previous_response_id</c>), whose calls its outputs may answer; the
    /// fake keeps no responses, so it takes that any such call exists.
    /// </param>
    private static Invalid? ValidateItems(JsonElement input, bool continuesStored)
    {
        var callIds = new HashSet<string>();
        var i = 0;
        foreach (var item in input.EnumerateArray())
        {
            var at = $"input[{i++}]";
            var type = item.String("type") ?? (item.Has("role", out _) ? "message" : null);
            if (type is null || !ItemTypes.Contains(type))
            {
                return new($"Invalid value: '{type}'. Supported values are: {string.Join(", ", ItemTypes.Select(t => $"'{t}'"))}.", $"{at}.type", "invalid_value");
            }

            switch (type)
            {
                case "message":
                    var role = item.String("role");
                    if (role is null || !Roles.Contains(role))
                    {
                        return new($"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.", $"{at}.role", "invalid_value");
                    }

                    if (!item.Has("content", out var content) || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
                    {
                        return new($"Missing required parameter: '{at}.content'.", $"{at}.content", "missing_required_parameter");
                    }

                    var j = 0;
                    foreach (var part in content.ValueKind == JsonValueKind.Array ? content.EnumerateArray() : [])
                    {
                        var partAt = $"{at}.content[{j++}]";
                        var partType = part.String("type");
                        string[] allowed = role == "assistant" ? ["output_text", "refusal"] : ["input_text", "input_image", "input_file"];
                        if (partType is null || !allowed.Contains(partType))
                        {
                            return new($"Invalid value: '{partType}'. Supported values are: {string.Join(", ", allowed.Select(a => $"'{a}'"))}.", $"{partAt}.type", "invalid_value");
                        }

                        if (partType == "input_image" && part.String("image_url") is null && part.String("file_id") is null)
                        {
                            return new($"Missing required parameter: '{partAt}.image_url'.", $"{partAt}.image_url", "missing_required_parameter");
                        }
                    }

                    break;
                case "function_call":
                    if (item.String("call_id") is not { } callId || item.String("name") is null)
                    {
                        return new($"Missing required parameter: '{at}.call_id'.", $"{at}.call_id", "missing_required_parameter");
                    }

                    if (!item.Has("arguments", out var arguments) || arguments.ValueKind != JsonValueKind.String)
                    {
                        return new($"Invalid type for '{at}.arguments': expected a string, but got {WireJson.Kind(arguments.ValueKind)} instead.", $"{at}.arguments", "invalid_type");
                    }

                    callIds.Add(callId);
                    break;
                case "reasoning":
                    // OpenAI's own encrypted reasoning is a Fernet token (gAAAA…); anything else it cannot decrypt, and refuses.
                    if (item.String("encrypted_content") is { } encrypted && !encrypted.StartsWith("gAAAA", StringComparison.Ordinal))
                    {
                        return new($"The encrypted content for item {item.String("id")} could not be verified.", null, "invalid_encrypted_content");
                    }

                    break;
                case "function_call_output":
                    var outputCallId = item.String("call_id");
                    if (outputCallId is null || !(continuesStored || callIds.Contains(outputCallId)))
                    {
                        return new($"No tool call found for function call output with call_id {outputCallId}.", "input");
                    }

                    if (!item.Has("output", out var output) || output.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
                    {
                        return new($"Missing required parameter: '{at}.output'.", $"{at}.output", "missing_required_parameter");
                    }

                    break;
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
            // NOTE: Responses tools are flat ({type, name, parameters}); Chat's nested "function" object is refused.
            if (tool.String("type") == "function" && tool.String("name") is null)
            {
                return new($"Missing required parameter: '{at}.name'.", $"{at}.name", "missing_required_parameter");
            }
        }

        return null;
    }

    public override Task AnswerAsync(HttpContext context, JsonElement body, UpstreamScript script)
    {
        var reply = ReplyRule.Decide(ReadFacts(body), script);
        var response = new ResponseShape(body, "resp_loopback" + NextId(), "msg_loopback" + NextId(), UnixNow());
        return body.IsTrue("stream")
            ? SseStream.WriteAsync(context, Events(reply, response), ErrorEvent, script)
            : WriteJsonAsync(context, response.Complete(reply), script);
    }

    private static ConversationFacts ReadFacts(JsonElement body)
    {
        body.Has("input", out var input);
        if (input.ValueKind == JsonValueKind.String)
        {
            return new ConversationFacts
            {
                SystemText = body.String("instructions"),
                LastUserText = input.GetString()!,
                FirstToolName = FirstTool(body),
                MaxTokens = body.Integer("max_output_tokens"),
            };
        }

        var items = input.ValueKind == JsonValueKind.Array ? input.EnumerateArray().ToList() : [];
        var messages = items.Where(m => (m.String("type") ?? "message") == "message").ToList();
        var system = messages.FirstOrDefault(m => m.String("role") is "system" or "developer");
        var lastUser = messages.LastOrDefault(m => m.String("role") == "user");
        var last = items.LastOrDefault();
        var images = new List<string>();
        if (lastUser.Has("content", out var userContent) && userContent.ValueKind == JsonValueKind.Array)
        {
            foreach (var part in userContent.EnumerateArray().Where(p => p.String("type") == "input_image"))
            {
                images.Add(part.String("image_url") is { } url ? ReplyRule.UrlImage(url) : "file " + part.String("file_id"));
            }
        }

        return new ConversationFacts
        {
            SystemText = body.String("instructions") ?? (system.Has("content", out var sys) ? WireJson.TextOf(sys, "input_text") : null),
            LastUserText = lastUser.Has("content", out var content) ? WireJson.TextOf(content, "input_text") : "",
            Images = images,
            ToolResult = last.String("type") == "function_call_output" && last.Has("output", out var output) ? WireJson.TextOf(output, "input_text", "output_text") : null,
            FirstToolName = FirstTool(body),
            MaxTokens = body.Integer("max_output_tokens"),
        };
    }

    private static string? FirstTool(JsonElement body) =>
        body.Items("tools").Where(t => t.String("type") == "function").Select(t => t.String("name")).FirstOrDefault();

    private static List<SseEvent> Events(UpstreamReply reply, ResponseShape response)
    {
        var events = new List<SseEvent>();
        void Add(string type, JsonObject data, bool isContent = false)
        {
            var payload = new JsonObject { ["type"] = type };
            foreach (var (key, value) in data.ToList())
            {
                data.Remove(key);
                payload[key] = value;
            }

            payload["sequence_number"] = events.Count;
            events.Add(SseEvent.Of(type, payload, isContent));
        }

        Add("response.created", new() { ["response"] = response.InProgress() });
        Add("response.in_progress", new() { ["response"] = response.InProgress() });
        var item = response.OutputItem(reply);
        var itemId = item["id"]!.GetValue<string>();
        var added = (JsonObject)item.DeepClone();
        added["status"] = "in_progress";
        if (reply.IsToolCall)
        {
            added["arguments"] = "";
            Add("response.output_item.added", new() { ["output_index"] = 0, ["item"] = added });
            foreach (var fragment in UpstreamReply.ToolArgumentFragments)
            {
                Add("response.function_call_arguments.delta", new() { ["item_id"] = itemId, ["output_index"] = 0, ["delta"] = fragment }, isContent: true);
            }

            Add("response.function_call_arguments.done", new()
            {
                ["item_id"] = itemId, ["output_index"] = 0, ["name"] = reply.ToolName, ["arguments"] = UpstreamReply.ToolArguments,
            });
        }
        else
        {
            added["content"] = new JsonArray();
            Add("response.output_item.added", new() { ["output_index"] = 0, ["item"] = added });
            Add("response.content_part.added", new()
            {
                ["item_id"] = itemId, ["output_index"] = 0, ["content_index"] = 0, ["part"] = ResponseShape.TextPart(""),
            });
            foreach (var word in reply.Deltas)
            {
                Add("response.output_text.delta", new()
                {
                    ["item_id"] = itemId, ["output_index"] = 0, ["content_index"] = 0, ["delta"] = word, ["logprobs"] = new JsonArray(),
                }, isContent: true);
            }

            Add("response.output_text.done", new()
            {
                ["item_id"] = itemId, ["output_index"] = 0, ["content_index"] = 0, ["text"] = reply.Text, ["logprobs"] = new JsonArray(),
            });
            Add("response.content_part.done", new()
            {
                ["item_id"] = itemId, ["output_index"] = 0, ["content_index"] = 0, ["part"] = ResponseShape.TextPart(reply.Text!),
            });
        }

        Add("response.output_item.done", new() { ["output_index"] = 0, ["item"] = item });
        Add(reply.Truncated ? "response.incomplete" : "response.completed", new() { ["response"] = response.Complete(reply) });
        return events;
    }

    private static SseEvent ErrorEvent(string message, int sent) => SseEvent.Of("error", new JsonObject
    {
        ["type"] = "error",
        ["code"] = "server_error",
        ["message"] = message,
        ["param"] = null,
        ["sequence_number"] = sent,
    });

    /// <summary>Builds the <c>response</c> object in its in-progress and final states.</summary>
    private sealed class ResponseShape(JsonElement request, string id, string messageId, long createdAt)
    {
        public static JsonObject TextPart(string text) => new() { ["type"] = "output_text", ["text"] = text, ["annotations"] = new JsonArray() };

        public JsonObject InProgress() => Build("in_progress", null, [], null);

        public JsonObject Complete(UpstreamReply reply) => Build(
            reply.Truncated ? "incomplete" : "completed",
            reply.Truncated ? new JsonObject { ["reason"] = "max_output_tokens" } : null,
            new JsonArray(OutputItem(reply)),
            Usage());

        public JsonObject OutputItem(UpstreamReply reply) => reply.ToolName is { } tool
            ? new JsonObject
            {
                ["id"] = "fc_w1",
                ["type"] = "function_call",
                ["status"] = "completed",
                ["arguments"] = UpstreamReply.ToolArguments,
                ["call_id"] = "call_w1",
                ["name"] = tool,
            }
            : new JsonObject
            {
                ["id"] = messageId,
                ["type"] = "message",
                ["status"] = reply.Truncated ? "incomplete" : "completed",
                ["role"] = "assistant",
                ["content"] = new JsonArray(TextPart(reply.Text!)),
            };

        private JsonObject Build(string status, JsonObject? incompleteDetails, JsonArray output, JsonObject? usage) => new()
        {
            ["id"] = id,
            ["object"] = "response",
            ["created_at"] = createdAt,
            ["status"] = status,
            ["error"] = null,
            ["incomplete_details"] = incompleteDetails,
            ["instructions"] = request.String("instructions"),
            ["max_output_tokens"] = request.Integer("max_output_tokens"),
            ["model"] = request.String("model"),
            ["output"] = output,
            ["parallel_tool_calls"] = true,
            ["previous_response_id"] = request.String("previous_response_id"),
            ["tool_choice"] = "auto",
            ["tools"] = request.Has("tools", out var tools) ? JsonNode.Parse(tools.GetRawText()) : new JsonArray(),
            ["usage"] = usage,
            ["metadata"] = new JsonObject(),
        };

        private static JsonObject Usage() => new()
        {
            ["input_tokens"] = CanonicalUsage.PromptTotal,
            ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = CanonicalUsage.CacheRead },
            ["output_tokens"] = CanonicalUsage.Output,
            ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
            ["total_tokens"] = CanonicalUsage.Total,
        };
    }
}
