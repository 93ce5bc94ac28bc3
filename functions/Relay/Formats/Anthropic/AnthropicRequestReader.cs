using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>
/// Parses a client's Messages API request (https://docs.claude.com/en/api/messages) into a <see cref="ChatRequest"/>.
/// Blocks the canonical model cannot carry (redacted thinking, server-tool blocks) are dropped; malformed fields, and
/// files stored with Anthropic (which no other provider can read), are rejected with a message naming the field.
/// </summary>
internal static class AnthropicRequestReader
{
    /// <summary>The rest of a request whose <paramref name="head"/> <see cref="ReadHead"/> has read from this body.</summary>
    public static Result<ChatRequest> Read(JsonElement body, RequestHead head)
    {
        if (JsonFields.CheckText(body) is { } textError)
        {
            return textError;
        }

        // NOTE: what only an Anthropic account can serve is not refused here: an Anthropic account in the model's pool
        // still takes it as sent (ChatRequest.Untranslatable).
        var maxTokens = body.GetProperty("max_tokens").GetInt32();
        var untranslatable = maxTokens == 0
            ? RelayError.Invalid("max_tokens: 0 (filling the prompt cache without an answer) is only served by Anthropic accounts; give at least 1", "max_tokens")
            : null;

        RelayError? error;
        if ((error = ReadMessages(body.GetProperty("messages"), out var messages)) is not null
            || (error = ReadSystem(body, out var system)) is not null
            || (error = ReadTools(body, out var tools, out var serverTools)) is not null
            || (error = ReadToolChoice(body, out var toolChoice, out var parallelToolCalls)) is not null
            || (error = JsonFields.ReadNumber(body, "temperature", out var temperature)) is not null
            || (error = JsonFields.ReadNumber(body, "top_p", out var topP)) is not null
            || (error = JsonFields.ReadInteger(body, "top_k", out var topK)) is not null
            || (error = JsonFields.ReadStopSequences(body, "stop_sequences", out var stopSequences)) is not null
            || (error = ReadOutputConfig(body, out var outputFormat, out var effort)) is not null
            || (error = ReadThinking(body, effort, out var reasoning)) is not null)
        {
            return error;
        }

        // NOTE: Claude Code's WebSearch forces web_search_20250305 this way. With the tool left out the model would answer
        // without searching and the client would show that as search results.
        if (toolChoice is { Kind: ToolChoiceKind.Tool, Name: { } forced } && serverTools is not null && serverTools.TryGetValue(forced, out var serverType))
        {
            untranslatable ??= RelayError.Invalid(
                $"tool_choice.name: {forced} is Anthropic's server tool {serverType}, which runs only at Anthropic, and this model is served by translating the request for another provider; use a model an Anthropic account serves",
                "tool_choice");
        }

        return new ChatRequest
        {
            Model = head.Model,
            MaxOutputTokens = maxTokens,
            Messages = messages,
            System = system,
            Tools = tools,
            ToolChoice = toolChoice,
            ParallelToolCalls = parallelToolCalls,
            Temperature = temperature,
            TopP = topP,
            TopK = topK is { } k ? (int)Math.Clamp(k, 0, int.MaxValue) : null,
            StopSequences = stopSequences,
            Stream = head.Stream,
            User = head.User,
            OutputFormat = outputFormat,
            Reasoning = reasoning,
            Untranslatable = untranslatable,
        };
    }

    /// <summary>
    /// The request's head: model, stream flag and <c>metadata.user_id</c>, and the checks every request must pass (an
    /// object with a model, <c>max_tokens</c> and at least one message). <see cref="WholeRequest"/> starts with it; a same-format
    /// relay reads nothing more.
    /// </summary>
    public static Result<RequestHead> ReadHead(JsonElement body)
    {
        if (JsonFields.RequiredModel(body, "request body", out var model) is { } modelError)
        {
            return modelError;
        }

        if (!JsonFields.TryGetPresent(body, "max_tokens", out var maxTokensElement))
        {
            return Required("max_tokens");
        }

        // NOTE: 0 is Anthropic's own way to fill the prompt cache without an answer, which an Anthropic account is sent
        // as it came; only a translation refuses it (Read).
        if (maxTokensElement.ValueKind != JsonValueKind.Number || !maxTokensElement.TryGetInt32(out var maxTokens) || maxTokens < 0)
        {
            return RelayError.Invalid("max_tokens: must be a non-negative integer", "max_tokens");
        }

        if (!JsonFields.TryGetPresent(body, "messages", out var messages))
        {
            return Required("messages");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            return RelayError.Invalid("messages: must be an array", "messages");
        }

        if (messages.GetArrayLength() == 0)
        {
            return RelayError.Invalid("messages: must contain at least one message", "messages");
        }

        if (ReadStream(body, out var stream) is { } streamError)
        {
            return streamError;
        }

        var user = body.TryGetProperty("metadata", out var metadata) ? JsonFields.GetString(metadata, "user_id") : null;
        return new RequestHead(model, stream, User: user);
    }

    /// <summary>The conversation's start, read in place: the system prompt, then the first user message.</summary>
    public static void ReadConversationStart(JsonElement body, IConversationStart to)
    {
        if (JsonFields.TryGetPresent(body, "system", out var system))
        {
            ConversationTexts.Add(system, to, system: true, "text"u8);
        }

        if (JsonFields.TryGetPresent(body, "messages", out var messages)
            && ConversationTexts.TryFindFirst(messages, "user"u8, out var user)
            && JsonFields.TryGetPresent(user, "content", out var content))
        {
            ConversationTexts.Add(content, to, system: false, "text"u8);
        }
    }

    /// <param name="array">The <c>messages</c> array, already checked by <see cref="ReadHead"/>.</param>
    private static RelayError? ReadMessages(JsonElement array, out List<ChatMessage> messages)
    {
        messages = [];

        // Tool results only carry the call id; remember each call's name for formats that need it (Gemini).
        Dictionary<string, string>? toolNames = null;
        var index = 0;
        foreach (var message in array.EnumerateArray())
        {
            var error = ReadMessage(message, index, ref toolNames, messages);
            if (error is not null)
            {
                return error;
            }

            index++;
        }

        return null;
    }

    private static RelayError? ReadMessage(JsonElement message, int index, ref Dictionary<string, string>? toolNames, List<ChatMessage> messages)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid($"messages[{index}]: must be an object", "messages");
        }

        if (!message.TryGetProperty("role", out var roleElement) || roleElement.ValueKind == JsonValueKind.Null)
        {
            return RelayError.Invalid($"messages[{index}].role: field required", "messages");
        }

        ChatRole role;
        if (JsonFields.IsText(roleElement, "user"u8))
        {
            role = ChatRole.User;
        }
        else if (JsonFields.IsText(roleElement, "assistant"u8))
        {
            role = ChatRole.Assistant;
        }
        else
        {
            return RelayError.Invalid($"messages[{index}].role: must be one of user, assistant", "messages");
        }

        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return RelayError.Invalid($"messages[{index}].content: field required", "messages");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            messages.Add(new ChatMessage(role, [new TextPart(content.GetString()!)]));
            return null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return RelayError.Invalid($"messages[{index}].content: must be a string or an array of content blocks", "messages");
        }

        var parts = new List<ContentPart>(content.GetArrayLength());
        List<ContentPart>? results = null;
        var blockIndex = 0;
        foreach (var block in content.EnumerateArray())
        {
            var error = ReadBlock(block, new BlockPath(index, blockIndex), role, toolNames, out var part);
            if (error is not null)
            {
                return error;
            }

            switch (part)
            {
                case ToolResultPart:
                    (results ??= []).Add(part);
                    break;
                case ToolCallPart call:
                    (toolNames ??= new(StringComparer.Ordinal))[call.Id] = call.Name;
                    parts.Add(part);
                    break;
                case not null:
                    parts.Add(part);
                    break;
            }

            blockIndex++;
        }

        // A user turn answering tool calls becomes a Tool message (the OpenAI shape), then a User message with anything else.
        if (results is not null)
        {
            messages.Add(new ChatMessage(ChatRole.Tool, results));
            if (parts.Count > 0)
            {
                messages.Add(new ChatMessage(ChatRole.User, parts));
            }
        }
        else
        {
            messages.Add(new ChatMessage(role, parts));
        }

        return null;
    }

    private static RelayError? ReadBlock(JsonElement block, BlockPath at, ChatRole role, Dictionary<string, string>? toolNames, out ContentPart? part)
    {
        part = null;
        if (block.ValueKind != JsonValueKind.Object)
        {
            return Invalid(at, ": must be an object");
        }

        if (!block.TryGetProperty("type", out var type) || type.ValueKind == JsonValueKind.Null)
        {
            return Invalid(at, ".type: field required");
        }

        if (type.ValueKind != JsonValueKind.String)
        {
            return Invalid(at, ".type: must be a string");
        }

        if (JsonFields.IsText(type, "text"u8))
        {
            return ReadText(block, at, out part);
        }

        if (JsonFields.IsText(type, "image"u8))
        {
            return ReadImage(block, at, out part);
        }

        if (JsonFields.IsText(type, "document"u8))
        {
            return ReadDocument(block, at, out part);
        }

        if (JsonFields.IsText(type, "tool_use"u8))
        {
            return role == ChatRole.Assistant
                ? ReadToolUse(block, at, out part)
                : Invalid(at, ": tool_use blocks are only allowed in assistant messages");
        }

        if (JsonFields.IsText(type, "tool_result"u8))
        {
            return role == ChatRole.User
                ? ReadToolResult(block, at, toolNames, out part)
                : Invalid(at, ": tool_result blocks are only allowed in user messages");
        }

        if (JsonFields.IsText(type, "thinking"u8))
        {
            var error = JsonFields.RequiredString(block, "thinking", at, InvalidField, out var thinking);
            if (error is not null)
            {
                return error;
            }

            // An empty signature is as good as none: no provider will accept it back.
            var signature = JsonFields.GetString(block, "signature");
            part = new ThinkingPart(thinking, string.IsNullOrEmpty(signature) ? null : signature);
            return null;
        }

        // redacted_thinking, search_result, server_tool_use, *_tool_result, container_upload, and later types:
        // the canonical model has no place for them, so they are dropped.
        return null;
    }

    private static RelayError? ReadText(JsonElement block, BlockPath at, out ContentPart? part)
    {
        part = null;
        var error = JsonFields.RequiredString(block, "text", at, InvalidField, out var text);
        if (error is null)
        {
            part = new TextPart(text, JsonFields.GetObjectCopy(block, "cache_control"));
        }

        return error;
    }

    private static RelayError? ReadImage(JsonElement block, BlockPath at, out ContentPart? part)
    {
        part = null;
        if (ReadSource(block, at, out var source, out var sourceType) is { } sourceError)
        {
            return sourceError;
        }

        var cacheControl = JsonFields.GetObjectCopy(block, "cache_control");
        if (sourceType == "base64")
        {
            RelayError? error;
            if ((error = JsonFields.RequiredString(source, "media_type", at.With(".source"), InvalidField, out var mediaType)) is not null
                || (error = JsonFields.RequiredString(source, "data", at.With(".source"), InvalidField, out var data)) is not null)
            {
                return error;
            }

            part = new ImagePart { MediaType = mediaType, Data = data, CacheControl = cacheControl };
            return null;
        }

        if (sourceType == "url")
        {
            var error = JsonFields.RequiredString(source, "url", at.With(".source"), InvalidField, out var url);
            if (error is not null)
            {
                return error;
            }

            part = DataUrl.TryParse(url, out var mediaType, out var data)
                ? new ImagePart { MediaType = mediaType, Data = data, CacheControl = cacheControl }
                : new ImagePart { Url = url, CacheControl = cacheControl };
            return null;
        }

        // Later source types have no canonical form: dropped like other unsupported content.
        return sourceType == "file" ? StoredFile(at) : null;
    }

    /// <summary>
    /// A document: a base64 PDF, a URL, or plain text (held as inline text/plain, like a text file from another client).
    /// </summary>
    /// <remarks>
    /// NOTE: <c>context</c> and <c>citations</c> have no counterpart in other APIs and are dropped: a translated
    /// answer carries no citations to ask for.
    /// </remarks>
    private static RelayError? ReadDocument(JsonElement block, BlockPath at, out ContentPart? part)
    {
        part = null;
        if (ReadSource(block, at, out var source, out var sourceType) is { } sourceError)
        {
            return sourceError;
        }

        var name = JsonFields.GetString(block, "title");
        var cacheControl = JsonFields.GetObjectCopy(block, "cache_control");
        RelayError? error;
        switch (sourceType)
        {
            case "base64":
                if ((error = JsonFields.RequiredString(source, "media_type", at.With(".source"), InvalidField, out var mediaType)) is not null
                    || (error = JsonFields.RequiredString(source, "data", at.With(".source"), InvalidField, out var data)) is not null)
                {
                    return error;
                }

                part = new DocumentPart { MediaType = mediaType, Data = data, Name = name, CacheControl = cacheControl };
                return null;
            case "url":
                if ((error = JsonFields.RequiredString(source, "url", at.With(".source"), InvalidField, out var url)) is not null)
                {
                    return error;
                }

                part = DataUrl.TryParse(url, out var urlMediaType, out var urlData)
                    ? new DocumentPart { MediaType = urlMediaType, Data = urlData, Name = name, CacheControl = cacheControl }
                    : new DocumentPart { Url = url, Name = name, CacheControl = cacheControl };
                return null;
            case "text":
                if ((error = JsonFields.RequiredString(source, "data", at.With(".source"), InvalidField, out var text)) is not null)
                {
                    return error;
                }

                part = new DocumentPart
                {
                    MediaType = DocumentPart.PlainText,
                    Data = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)),
                    Name = name,
                    CacheControl = cacheControl,
                };
                return null;
            case "file":
                return StoredFile(at);
            case "content":
                return Invalid(at, ".source: a document of content blocks cannot be translated for another provider; send its blocks as text and image blocks instead");
            default:
                return Invalid(at, ".source.type: must be one of base64, url, text, content, file");
        }
    }

    /// <summary>The <c>source</c> object of an image or document block, with its type.</summary>
    private static RelayError? ReadSource(JsonElement block, BlockPath at, out JsonElement source, out string sourceType)
    {
        sourceType = string.Empty;
        if (!block.TryGetProperty("source", out source) || source.ValueKind == JsonValueKind.Null)
        {
            return Invalid(at, ".source: field required");
        }

        if (source.ValueKind != JsonValueKind.Object)
        {
            return Invalid(at, ".source: must be an object");
        }

        if (JsonFields.GetString(source, "type") is not { } type)
        {
            return Invalid(at, ".source.type: field required");
        }

        sourceType = type;
        return null;
    }

    /// <summary>A Files API id: only Anthropic can read the file it names.</summary>
    private static RelayError StoredFile(BlockPath at) =>
        Invalid(at, $".source.file_id: {StoredFiles.OnlyWith(StoredFiles.Anthropic, "a base64 source")}");

    private static RelayError? ReadToolUse(JsonElement block, BlockPath at, out ContentPart? part)
    {
        part = null;
        RelayError? error;
        if ((error = JsonFields.RequiredString(block, "id", at, InvalidField, out var id)) is not null
            || (error = JsonFields.RequiredString(block, "name", at, InvalidField, out var name)) is not null)
        {
            return error;
        }

        if (!block.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null)
        {
            return Invalid(at, ".input: field required");
        }

        if (input.ValueKind != JsonValueKind.Object)
        {
            return Invalid(at, ".input: must be an object");
        }

        part = new ToolCallPart(id, name, input.GetRawText());
        return null;
    }

    private static RelayError? ReadToolResult(JsonElement block, BlockPath at, Dictionary<string, string>? toolNames, out ContentPart? part)
    {
        part = null;
        var error = JsonFields.RequiredString(block, "tool_use_id", at, InvalidField, out var toolUseId);
        if (error is not null)
        {
            return error;
        }

        IReadOnlyList<ContentPart> content = [];
        if (block.TryGetProperty("content", out var contentElement))
        {
            switch (contentElement.ValueKind)
            {
                case JsonValueKind.Null:
                    break;
                case JsonValueKind.String:
                    content = [new TextPart(contentElement.GetString()!)];
                    break;
                case JsonValueKind.Array:
                    var parts = new List<ContentPart>(contentElement.GetArrayLength());
                    var nested = 0;
                    foreach (var item in contentElement.EnumerateArray())
                    {
                        error = ReadToolResultItem(item, at.InResult(nested), out var itemPart);
                        if (error is not null)
                        {
                            return error;
                        }

                        if (itemPart is not null)
                        {
                            parts.Add(itemPart);
                        }

                        nested++;
                    }

                    content = parts;
                    break;
                default:
                    return Invalid(at, ".content: must be a string or an array of content blocks");
            }
        }

        var isError = block.TryGetProperty("is_error", out var isErrorElement) && isErrorElement.ValueKind == JsonValueKind.True;
        string? toolName = null;
        toolNames?.TryGetValue(toolUseId, out toolName);
        part = new ToolResultPart(toolUseId, content, isError, toolName)
        {
            CacheControl = JsonFields.GetObjectCopy(block, "cache_control"),
        };
        return null;
    }

    /// <summary>Tool results hold text, images and documents; search results are dropped.</summary>
    private static RelayError? ReadToolResultItem(JsonElement item, BlockPath at, out ContentPart? part)
    {
        part = null;
        if (item.ValueKind != JsonValueKind.Object)
        {
            return Invalid(at, ": must be an object");
        }

        return JsonFields.GetString(item, "type") switch
        {
            "text" => ReadText(item, at, out part),
            "image" => ReadImage(item, at, out part),
            "document" => ReadDocument(item, at, out part),
            null => Invalid(at, ".type: field required"),
            _ => null,
        };
    }

    private static RelayError? ReadSystem(JsonElement body, out IReadOnlyList<TextPart> system)
    {
        system = [];
        if (!body.TryGetProperty("system", out var element))
        {
            return null;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                var text = element.GetString()!;
                system = text.Length == 0 ? [] : [new TextPart(text)];
                return null;
            case JsonValueKind.Array:
                var parts = new List<TextPart>(element.GetArrayLength());
                var index = 0;
                foreach (var block in element.EnumerateArray())
                {
                    if (block.ValueKind != JsonValueKind.Object)
                    {
                        return RelayError.Invalid($"system[{index}]: must be an object", "system");
                    }

                    if (JsonFields.GetString(block, "type") != "text")
                    {
                        return RelayError.Invalid($"system[{index}].type: must be text", "system");
                    }

                    if (JsonFields.GetString(block, "text") is not { } blockText)
                    {
                        return RelayError.Invalid($"system[{index}].text: must be a string", "system");
                    }

                    parts.Add(new TextPart(blockText, JsonFields.GetObjectCopy(block, "cache_control")));
                    index++;
                }

                system = parts;
                return null;
            default:
                return RelayError.Invalid("system: must be a string or an array of text blocks", "system");
        }
    }

    /// <param name="serverTools">The server tools left out, by name with their type (null when there are none).</param>
    private static RelayError? ReadTools(JsonElement body, out IReadOnlyList<ToolDefinition> tools, out Dictionary<string, string>? serverTools)
    {
        tools = [];
        serverTools = null;
        if (!body.TryGetProperty("tools", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            return RelayError.Invalid("tools: must be an array", "tools");
        }

        var list = new List<ToolDefinition>(array.GetArrayLength());
        var index = 0;
        foreach (var tool in array.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object)
            {
                return RelayError.Invalid($"tools[{index}]: must be an object", "tools");
            }

            // Server tools (web_search_20250305, bash_20250124, text_editor_…) run inside Anthropic; no other upstream has them.
            var type = JsonFields.GetString(tool, "type");
            if (type is not null && type != "custom")
            {
                if (JsonFields.GetString(tool, "name") is { } serverName)
                {
                    (serverTools ??= new(StringComparer.Ordinal))[serverName] = type;
                }

                index++;
                continue;
            }

            if (JsonFields.GetString(tool, "name") is not { Length: > 0 } name)
            {
                return RelayError.Invalid($"tools[{index}].name: field required", "tools");
            }

            if (!tool.TryGetProperty("input_schema", out var schema) || schema.ValueKind == JsonValueKind.Null)
            {
                return RelayError.Invalid($"tools[{index}].input_schema: field required", "tools");
            }

            if (schema.ValueKind != JsonValueKind.Object)
            {
                return RelayError.Invalid($"tools[{index}].input_schema: must be an object", "tools");
            }

            list.Add(new ToolDefinition(name, JsonFields.GetString(tool, "description"), JsonFields.GetObjectCopy(tool, "input_schema")!)
            {
                CacheControl = JsonFields.GetObjectCopy(tool, "cache_control"),
            });
            index++;
        }

        tools = list;
        return null;
    }

    private static RelayError? ReadToolChoice(JsonElement body, out ToolChoice? toolChoice, out bool? parallelToolCalls)
    {
        toolChoice = null;
        parallelToolCalls = null;
        if (!body.TryGetProperty("tool_choice", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid("tool_choice: must be an object", "tool_choice");
        }

        switch (JsonFields.GetString(element, "type"))
        {
            case "auto":
                toolChoice = new ToolChoice(ToolChoiceKind.Auto);
                break;
            case "any":
                toolChoice = new ToolChoice(ToolChoiceKind.Required);
                break;
            case "none":
                toolChoice = new ToolChoice(ToolChoiceKind.None);
                break;
            case "tool":
                if (JsonFields.GetString(element, "name") is not { Length: > 0 } name)
                {
                    return RelayError.Invalid("tool_choice.name: field required", "tool_choice");
                }

                toolChoice = new ToolChoice(ToolChoiceKind.Tool, name);
                break;
            case null:
                return RelayError.Invalid("tool_choice.type: field required", "tool_choice");
            default:
                return RelayError.Invalid("tool_choice.type: must be one of auto, any, tool, none", "tool_choice");
        }

        // Only "true" changes anything; false is the default and stays unset so writers add nothing.
        if (element.TryGetProperty("disable_parallel_tool_use", out var disable) && disable.ValueKind == JsonValueKind.True)
        {
            parallelToolCalls = false;
        }

        return null;
    }



    /// <summary>
    /// <c>output_config</c>: <c>format</c> (structured output, https://platform.claude.com/docs/en/build-with-claude/structured-outputs)
    /// and <c>effort</c> (https://platform.claude.com/docs/en/build-with-claude/effort); either may come alone.
    /// </summary>
    private static RelayError? ReadOutputConfig(JsonElement body, out OutputFormat? format, out ReasoningEffort? effort)
    {
        format = null;
        effort = null;
        if (!JsonFields.TryGetPresent(body, "output_config", out var config))
        {
            return null;
        }

        if (config.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid("output_config: must be an object", "output_config");
        }

        if (JsonFields.TryGetPresent(config, "effort", out var effortElement))
        {
            effort = JsonFields.GetString(config, "effort") switch
            {
                "low" => ReasoningEffort.Low,
                "medium" => ReasoningEffort.Medium,
                "high" => ReasoningEffort.High,
                "xhigh" => ReasoningEffort.XHigh,
                "max" => ReasoningEffort.Max,
                _ => null,
            };
            if (effort is null)
            {
                return RelayError.Invalid("output_config.effort: must be one of low, medium, high, xhigh, max", "output_config");
            }
        }

        if (!JsonFields.TryGetPresent(config, "format", out var formatElement))
        {
            return null;
        }

        if (formatElement.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid("output_config.format: must be an object", "output_config");
        }

        if (!JsonFields.TryGetPresent(formatElement, "type", out var type))
        {
            return RelayError.Invalid("output_config.format.type: field required", "output_config");
        }

        if (!JsonFields.IsText(type, "json_schema"u8))
        {
            return RelayError.Invalid("output_config.format.type: must be json_schema", "output_config");
        }

        if (!JsonFields.TryGetPresent(formatElement, "schema", out var schema))
        {
            return RelayError.Invalid("output_config.format.schema: field required", "output_config");
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid("output_config.format.schema: must be an object", "output_config");
        }

        format = new OutputFormat(OutputFormatKind.JsonSchema, Schema: JsonFields.GetObjectCopy(formatElement, "schema"));
        return null;
    }

    /// <summary>
    /// <c>thinking</c> (https://platform.claude.com/docs/en/build-with-claude/extended-thinking): <c>enabled</c> with a
    /// <c>budget_tokens</c> of at least 1024 (Anthropic's own minimum, so a request refused there is refused here too),
    /// <c>disabled</c>, or <c>adaptive</c>, sized by <paramref name="effort"/>. Thinking comes back unless
    /// <c>display</c> is <c>omitted</c>.
    /// </summary>
    private static RelayError? ReadThinking(JsonElement body, ReasoningEffort? effort, out Reasoning? reasoning)
    {
        reasoning = effort is null ? null : new Reasoning(effort);
        if (!JsonFields.TryGetPresent(body, "thinking", out var thinking))
        {
            return null;
        }

        if (thinking.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid("thinking: must be an object", "thinking");
        }

        var shown = JsonFields.GetString(thinking, "display") != "omitted";
        switch (JsonFields.GetString(thinking, "type"))
        {
            case "enabled":
                if (!JsonFields.TryGetPresent(thinking, "budget_tokens", out var budget))
                {
                    return RelayError.Invalid("thinking.budget_tokens: field required", "thinking");
                }

                if (budget.ValueKind != JsonValueKind.Number || !budget.TryGetInt32(out var tokens) || tokens < AnthropicRequestWriter.MinThinkingBudget)
                {
                    return RelayError.Invalid("thinking.budget_tokens: must be an integer of at least 1024", "thinking");
                }

                reasoning = new Reasoning(effort, tokens, shown);
                return null;
            case "adaptive":
                reasoning = new Reasoning(effort, IncludeThoughts: shown);
                return null;
            case "disabled":
                reasoning = Reasoning.Disabled;
                return null;
            case null when !JsonFields.TryGetPresent(thinking, "type", out _):
                return RelayError.Invalid("thinking.type: field required", "thinking");
            default:
                return RelayError.Invalid("thinking.type: must be one of enabled, disabled, adaptive", "thinking");
        }
    }

    private static RelayError? ReadStream(JsonElement body, out bool stream)
    {
        stream = false;
        if (!body.TryGetProperty("stream", out var element))
        {
            return null;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.True:
                stream = true;
                return null;
            case JsonValueKind.False or JsonValueKind.Null:
                return null;
            default:
                return RelayError.Invalid("stream: must be a boolean", "stream");
        }
    }

    private static RelayError InvalidField(BlockPath at, string name, string problem) => Invalid(at, $".{name}: {problem}");

    private static RelayError Required(string name) => RelayError.Invalid($"{name}: field required", name);

    private static RelayError Invalid(BlockPath at, string problem) => RelayError.Invalid(at + problem, "messages");

    /// <summary>Where a content block sits, turned into text only when an error names it.</summary>
    private readonly record struct BlockPath(int Message, int Block, int Nested = -1, string? Suffix = null)
    {
        public BlockPath InResult(int index) => this with { Nested = index };

        public BlockPath With(string suffix) => this with { Suffix = suffix };

        public override string ToString() => Nested < 0
            ? $"messages[{Message}].content[{Block}]{Suffix}"
            : $"messages[{Message}].content[{Block}].content[{Nested}]{Suffix}";
    }
}
