using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Serverless.Tests.Upstreams;

/// <summary>
/// Fake of Gemini's <c>models/{model}:generateContent</c>, <c>:streamGenerateContent?alt=sse</c> and
/// <c>:countTokens</c> (https://ai.google.dev/api/generate-content). Reads both lowerCamel and snake_case field
/// names, as Google's JSON mapping does.
/// </summary>
internal sealed partial class GeminiEndpoint(string model, string action) : UpstreamEndpoint
{
    private static readonly string[] PartKinds =
    [
        "text", "inlineData", "inline_data", "fileData", "file_data", "functionCall", "function_call", "functionResponse",
        "function_response", "executableCode", "executable_code", "codeExecutionResult", "code_execution_result",
    ];

    public const string Generate = "generateContent";
    public const string Stream = "streamGenerateContent";
    public const string Count = "countTokens";

    public override UpstreamDialect Dialect => action == Count ? UpstreamDialect.GeminiCountTokens : UpstreamDialect.Gemini;

    public override string MalformedJsonMessage => "Invalid JSON payload received. Unexpected token.";

    public override UpstreamFailure? Authenticate(HttpRequest request, string apiKey)
    {
        var presented = request.Headers["x-goog-api-key"].ToString();
        if (presented.Length == 0)
        {
            presented = request.Query["key"].ToString();
        }

        if (presented == apiKey)
        {
            return null;
        }

        // NOTE: as real Gemini does: no key is 403, and a wrong, expired or deleted one is 400 INVALID_ARGUMENT, told from
        // a bad request only by the ErrorInfo detail's reason (never a 401).
        return presented.Length == 0
            ? Error(StatusCodes.Status403Forbidden, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
            : KeyInvalid("API key not valid. Please pass a valid API key.");
    }

    /// <summary>Google's answer to a refused API key, as generativelanguage.googleapis.com writes it.</summary>
    public static UpstreamFailure KeyInvalid(string message) => new(StatusCodes.Status400BadRequest, new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["code"] = 400,
            ["message"] = message,
            ["status"] = "INVALID_ARGUMENT",
            ["details"] = new JsonArray(
                new JsonObject
                {
                    ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo",
                    ["reason"] = "API_KEY_INVALID",
                    ["domain"] = "googleapis.com",
                    ["metadata"] = new JsonObject { ["service"] = "generativelanguage.googleapis.com" },
                },
                new JsonObject { ["@type"] = "type.googleapis.com/google.rpc.LocalizedMessage", ["locale"] = "en-US", ["message"] = message }),
        },
    });

    public override UpstreamFailure Error(int status, string message, string? param = null, string? code = null)
    {
        var grpcStatus = status switch
        {
            400 => "INVALID_ARGUMENT",
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            409 => "ABORTED",
            429 => "RESOURCE_EXHAUSTED",
            499 => "CANCELLED",
            500 => "INTERNAL",
            503 => "UNAVAILABLE",
            504 => "DEADLINE_EXCEEDED",
            _ => "UNKNOWN",
        };
        return new(status, new JsonObject
        {
            ["error"] = new JsonObject { ["code"] = status, ["message"] = message, ["status"] = grpcStatus },
        });
    }

    public override Invalid? Validate(JsonElement body, HttpRequest request)
    {
        if (action == Stream && request.Query["alt"] != "sse")
        {
            return new("This fake serves streamGenerateContent only as server-sent events: add ?alt=sse.");
        }

        // countTokens takes either contents or a whole generateContentRequest.
        var source = action == Count && body.Has("generateContentRequest", "generate_content_request", out var inner) ? inner : body;
        if (!source.Has("contents", out var contents) || contents.ValueKind != JsonValueKind.Array || contents.GetArrayLength() == 0)
        {
            return new("* GenerateContentRequest.contents: contents is not specified\n");
        }

        if (source.Has("systemInstruction", "system_instruction", out var system) && (!system.Has("parts", out var systemParts) || systemParts.ValueKind != JsonValueKind.Array))
        {
            return new("* GenerateContentRequest.system_instruction.parts: must be a list\n");
        }

        return ValidateContents(contents.EnumerateArray().ToList()) ?? ValidateTools(source);
    }

    private static Invalid? ValidateContents(List<JsonElement> contents)
    {
        for (var i = 0; i < contents.Count; i++)
        {
            var content = contents[i];
            var role = content.String("role");
            if (role is not (null or "user" or "model"))
            {
                return new("Please use a valid role: user, model.");
            }

            if (!content.Has("parts", out var partsElement) || partsElement.ValueKind != JsonValueKind.Array || partsElement.GetArrayLength() == 0)
            {
                return new($"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n");
            }

            var parts = partsElement.EnumerateArray().ToList();
            for (var j = 0; j < parts.Count; j++)
            {
                if (ValidatePart(parts[j], $"contents[{i}].parts[{j}]") is { } partError)
                {
                    return partError;
                }
            }

            var responses = parts.Where(p => p.Has("functionResponse", "function_response", out _)).ToList();
            if (responses.Count == 0)
            {
                continue;
            }

            var previous = i > 0 ? contents[i - 1] : default;
            var calls = previous.Items("parts").Where(p => p.Has("functionCall", "function_call", out _)).ToList();
            if (previous.String("role") != "model" || calls.Count == 0)
            {
                return new("Please ensure that function response turn comes immediately after a function call turn.");
            }

            if (calls.Count != responses.Count)
            {
                return new("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.");
            }

            var callNames = calls.Select(p => { p.Has("functionCall", "function_call", out var c); return c.String("name"); }).ToList();
            foreach (var response in responses)
            {
                response.Has("functionResponse", "function_response", out var fr);
                if (!callNames.Contains(fr.String("name")))
                {
                    return new($"Please ensure that the function response name '{fr.String("name")}' matches a function call of the preceding turn.");
                }
            }
        }

        return null;
    }

    private static Invalid? ValidatePart(JsonElement part, string at)
    {
        if (part.ValueKind != JsonValueKind.Object || !PartKinds.Any(k => part.Has(k, out _)))
        {
            return new($"* GenerateContentRequest.{at}.data: required oneof field 'data' must have one initialized field\n");
        }

        if (part.Has("inlineData", "inline_data", out var inline)
            && (!inline.Has("mimeType", "mime_type", out var mime) || mime.ValueKind != JsonValueKind.String || !inline.Has("data", out var data) || data.ValueKind != JsonValueKind.String))
        {
            return new($"* GenerateContentRequest.{at}.inline_data: mime_type and data are required\n");
        }

        if (part.Has("fileData", "file_data", out var file) && !file.Has("fileUri", "file_uri", out _))
        {
            return new($"* GenerateContentRequest.{at}.file_data.file_uri: file_uri is required\n");
        }

        if (part.Has("functionCall", "function_call", out var call))
        {
            if (call.String("name") is null)
            {
                return new($"* GenerateContentRequest.{at}.function_call.name: Name cannot be empty.\n");
            }

            if (call.Has("args", out var args) && args.ValueKind != JsonValueKind.Object)
            {
                return new($"Invalid value at '{at}.function_call.args' (type.googleapis.com/google.protobuf.Struct), {args.GetRawText()}");
            }
        }

        if (part.Has("functionResponse", "function_response", out var response))
        {
            if (response.String("name") is null)
            {
                return new($"* GenerateContentRequest.{at}.function_response.name: Name cannot be empty.\n");
            }

            if (!response.Has("response", out var value) || value.ValueKind != JsonValueKind.Object)
            {
                return new($"Invalid value at '{at}.function_response.response' (type.googleapis.com/google.protobuf.Struct), {(value.ValueKind == JsonValueKind.Undefined ? "null" : value.GetRawText())}");
            }
        }

        return null;
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$")]
    private static partial Regex ValidFunctionName();

    private static Invalid? ValidateTools(JsonElement body)
    {
        var k = 0;
        foreach (var tool in body.Items("tools"))
        {
            var d = 0;
            foreach (var declaration in tool.Has("functionDeclarations", "function_declarations", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : [])
            {
                if (declaration.String("name") is null)
                {
                    return new($"* GenerateContentRequest.tools[{k}].function_declarations[{d}].name: Name cannot be empty.\n");
                }

                // Gemini's own words (quoted in gemini-cli issue 6704, an MCP tool's long name).
                if (!ValidFunctionName().IsMatch(declaration.String("name")!))
                {
                    return new($"* GenerateContentRequest.tools[{k}].function_declarations[{d}].name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.) or dashes (-), with a maximum length of 64.\n");
                }

                d++;
            }

            k++;
        }

        return null;
    }

    public override Task AnswerAsync(HttpContext context, JsonElement body, UpstreamScript script)
    {
        if (action == Count)
        {
            return WriteJsonAsync(context, new JsonObject
            {
                ["totalTokens"] = CanonicalUsage.CountTokens,
                ["promptTokensDetails"] = new JsonArray(new JsonObject { ["modality"] = "TEXT", ["tokenCount"] = CanonicalUsage.CountTokens }),
            }, script);
        }

        var reply = ReplyRule.Decide(ReadFacts(body), script);
        var responseId = "loopback" + NextId();
        if (action == Generate)
        {
            var parts = reply.ToolName is { } tool ? new JsonArray(FunctionCallPart(tool)) : new JsonArray(new JsonObject { ["text"] = reply.Text });
            return WriteJsonAsync(context, Chunk(parts, FinishReason(reply), Usage(CanonicalUsage.Output), responseId), script);
        }

        return SseStream.WriteAsync(context, Events(reply, responseId), ErrorEvent, script, separator: "\r\n\r\n");
    }

    private static ConversationFacts ReadFacts(JsonElement body)
    {
        var contents = body.Items("contents").ToList();
        var lastUser = contents.LastOrDefault(c => c.String("role") is null or "user");
        var lastResponse = contents[^1].Items("parts").LastOrDefault(p => p.Has("functionResponse", "function_response", out _));
        var images = new List<string>();
        var texts = new List<string>();
        foreach (var part in lastUser.Items("parts"))
        {
            if (part.String("text") is { } text)
            {
                texts.Add(text);
            }
            else if (part.Has("inlineData", "inline_data", out var inline))
            {
                inline.Has("mimeType", "mime_type", out var mime);
                images.Add(ReplyRule.Base64Image(mime.GetString(), inline.String("data")!));
            }
            else if (part.Has("fileData", "file_data", out var file))
            {
                file.Has("fileUri", "file_uri", out var uri);
                images.Add("url " + uri.GetString());
            }
        }

        string? system = null;
        if (body.Has("systemInstruction", "system_instruction", out var instruction))
        {
            system = string.Join(' ', instruction.Items("parts").Select(p => p.String("text")).OfType<string>());
        }

        string? toolResult = null;
        if (lastResponse.Has("functionResponse", "function_response", out var functionResponse) && functionResponse.Has("response", out var response))
        {
            toolResult = WireJson.Compact(response);
        }

        var firstTool = body.Items("tools")
            .SelectMany(t => t.Has("functionDeclarations", "function_declarations", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : [])
            .Select(d => d.String("name"))
            .FirstOrDefault();
        body.Has("generationConfig", "generation_config", out var config);
        config.Has("maxOutputTokens", "max_output_tokens", out var max);
        return new ConversationFacts
        {
            SystemText = system,
            LastUserText = string.Join(' ', texts),
            Images = images,
            ToolResult = toolResult,
            FirstToolName = firstTool,
            MaxTokens = max.ValueKind == JsonValueKind.Number && max.TryGetInt64(out var n) ? n : null,
        };
    }

    private static string FinishReason(UpstreamReply reply) => reply.Truncated ? "MAX_TOKENS" : "STOP";

    private static JsonObject FunctionCallPart(string tool) => new()
    {
        ["functionCall"] = new JsonObject { ["name"] = tool, ["args"] = JsonNode.Parse(UpstreamReply.ToolArguments) },
    };

    /// <summary>Cumulative usage; only the final chunk carries the complete output count.</summary>
    private static JsonObject Usage(int outputSoFar) => new()
    {
        ["promptTokenCount"] = CanonicalUsage.PromptTotal,
        ["cachedContentTokenCount"] = CanonicalUsage.CacheRead,
        ["candidatesTokenCount"] = outputSoFar,
        ["totalTokenCount"] = CanonicalUsage.PromptTotal + outputSoFar,
    };

    private JsonObject Chunk(JsonArray parts, string? finishReason, JsonObject usage, string responseId)
    {
        var candidate = new JsonObject
        {
            ["content"] = new JsonObject { ["parts"] = parts, ["role"] = "model" },
        };
        if (finishReason is not null)
        {
            candidate["finishReason"] = finishReason;
        }

        candidate["index"] = 0;
        return new JsonObject
        {
            ["candidates"] = new JsonArray(candidate),
            ["usageMetadata"] = usage,
            ["modelVersion"] = model,
            ["responseId"] = responseId,
        };
    }

    private List<SseEvent> Events(UpstreamReply reply, string responseId)
    {
        if (reply.ToolName is { } tool)
        {
            // Gemini sends a function call whole, in one chunk.
            return [SseEvent.Of(null, Chunk(new JsonArray(FunctionCallPart(tool)), "STOP", Usage(CanonicalUsage.Output), responseId), isContent: true)];
        }

        var words = reply.Deltas;
        return words.Select((word, i) =>
        {
            var last = i == words.Count - 1;
            var usage = Usage(last ? CanonicalUsage.Output : Math.Min(i + 1, CanonicalUsage.Output - 1));
            return SseEvent.Of(null, Chunk(new JsonArray(new JsonObject { ["text"] = word }), last ? FinishReason(reply) : null, usage, responseId), isContent: true);
        }).ToList();
    }

    private SseEvent ErrorEvent(string message, int sent) => SseEvent.Of(null, Error(StatusCodes.Status500InternalServerError, message).Body);
}
