using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>
/// Parses a client's <c>POST /v1/chat/completions</c> body. Validation stops at the first problem and names the field,
/// the way OpenAI's own 400s do.
/// </summary>
/// <remarks>See https://platform.openai.com/docs/api-reference/chat/create.</remarks>
internal sealed class OpenAIChatRequestReader
{
    /// <summary>A tool call's arguments when it sends none.</summary>
    internal const string NoArguments = "{}";

    private readonly List<TextPart> _system = [];
    private readonly List<ChatMessage> _messages = [];

    // Tool results carry only the call id; Gemini's functionResponse also needs the name, so remember it from the call.
    private readonly Dictionary<string, string> _toolNames = new(StringComparer.Ordinal);

    private OpenAIChatRequestReader()
    {
    }

    /// <summary>The rest of a request whose <paramref name="head"/> <see cref="ReadHead"/> has read from this body.</summary>
    public static Result<ChatRequest> Read(JsonElement body, RequestHead head) => new OpenAIChatRequestReader().ReadBody(body, head);

    /// <summary>
    /// The request's head: model, stream flags and user, and the checks every request must pass (an object with a model
    /// and at least one message). <see cref="WholeRequest"/> starts with it; a same-format relay reads nothing more.
    /// </summary>
    public static Result<RequestHead> ReadHead(JsonElement body)
    {
        if (JsonFields.RequiredModel(body, "body", out var model) is { } modelError)
        {
            return modelError;
        }

        if (!OpenAIChatFields.TryGetPresent(body, "messages", out var messages))
        {
            return RelayError.Invalid("messages: field required", "messages");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            return RelayError.Invalid("messages: must be an array", "messages");
        }

        if (messages.GetArrayLength() == 0)
        {
            return RelayError.Invalid("messages: must contain at least one message", "messages");
        }

        var fields = new OpenAIChatFields();
        var stream = fields.Bool(body, "stream");
        bool? streamUsage = null;
        if (fields.Object(body, "stream_options") is { } streamOptions)
        {
            streamUsage = fields.Bool(streamOptions, "include_usage", "stream_options.include_usage");
        }

        // NOTE: `user` is deprecated in favour of safety_identifier (abuse tracking) and prompt_cache_key (cache
        // routing), as in Responses; any of them identifies the end user or session well enough for the canonical User.
        var user = fields.String(body, "user");
        var safetyIdentifier = fields.String(body, "safety_identifier");
        var promptCacheKey = fields.String(body, "prompt_cache_key");
        if (fields.Error is { } fieldError)
        {
            return fieldError;
        }

        return new RequestHead(model, stream ?? false, streamUsage ?? false, user ?? safetyIdentifier ?? promptCacheKey);
    }

    /// <summary>The conversation's start, read in place: every system and developer message, then the first user message.</summary>
    public static void ReadConversationStart(JsonElement body, IConversationStart to)
    {
        if (!OpenAIChatFields.TryGetPresent(body, "messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var message in messages.EnumerateArray())
        {
            if (ConversationTexts.HasRole(message, "system"u8, "developer"u8) && OpenAIChatFields.TryGetPresent(message, "content", out var content))
            {
                ConversationTexts.Add(content, to, system: true, "text"u8);
            }
        }

        if (ConversationTexts.TryFindFirst(messages, "user"u8, out var user) && OpenAIChatFields.TryGetPresent(user, "content", out var userContent))
        {
            ConversationTexts.Add(userContent, to, system: false, "text"u8);
        }
    }

    private Result<ChatRequest> ReadBody(JsonElement body, RequestHead head)
    {
        if (JsonFields.CheckText(body) is { } textError)
        {
            return textError;
        }

        var messages = body.GetProperty("messages");
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (ReadMessage(message, $"messages[{index}]") is { } messageError)
            {
                return messageError;
            }

            index++;
        }

        var tools = ReadTools(body, out var toolsError);
        if (toolsError is not null)
        {
            return toolsError;
        }

        var toolChoice = ReadToolChoice(body, out var allowedTools, out var toolChoiceError);
        if (toolChoiceError is not null)
        {
            return toolChoiceError;
        }

        OpenAIAllowedTools.Restrict(tools, allowedTools);

        OutputFormat? outputFormat = null;
        if (OpenAIChatFields.TryGetPresent(body, "response_format", out var responseFormat)
            && OpenAIOutputFormat.Read(responseFormat, "response_format", "response_format", "json_schema", out outputFormat) is { } formatError)
        {
            return formatError;
        }

        ReasoningEffort? effort = null;
        if (OpenAIChatFields.TryGetPresent(body, "reasoning_effort", out var effortElement)
            && OpenAIReasoning.ReadEffort(effortElement, "reasoning_effort", "reasoning_effort", out effort) is { } effortError)
        {
            return effortError;
        }

        // Scalars: each read records the first problem, checked once below.
        var fields = new OpenAIChatFields();
        var parallelToolCalls = fields.Bool(body, "parallel_tool_calls");
        var temperature = fields.Double(body, "temperature");
        var topP = fields.Double(body, "top_p");

        // max_completion_tokens replaced max_tokens; a client sending both means the newer one.
        var maxCompletionTokens = fields.PositiveInt(body, "max_completion_tokens");
        var maxTokens = fields.PositiveInt(body, "max_tokens");
        var stop = fields.StringOrStrings(body, "stop");
        var choices = fields.PositiveInt(body, "n");
        var seed = fields.Integer(body, "seed");
        var presencePenalty = fields.Double(body, "presence_penalty");
        var frequencyPenalty = fields.Double(body, "frequency_penalty");
        if (fields.Error is { } fieldError)
        {
            return fieldError;
        }

        if (ReadUntranslatable(body, out var untranslatable) is { } untranslatableError)
        {
            return untranslatableError;
        }

        // NOTE: a translated answer has one choice; a client that asked for more and read choices[1] would fail later
        // and further from the cause. An OpenAI account in the pool still serves it.
        if (choices > 1)
        {
            untranslatable ??= RelayError.Invalid("n: an upstream of another format gives one choice only; leave n out or at 1", "n");
        }

        return new ChatRequest
        {
            Model = head.Model,
            System = _system,
            Messages = _messages,
            Tools = tools,
            ToolChoice = toolChoice,
            ParallelToolCalls = parallelToolCalls,
            Temperature = temperature,
            TopP = topP,
            MaxOutputTokens = maxCompletionTokens ?? maxTokens,
            Seed = seed,
            PresencePenalty = presencePenalty,
            FrequencyPenalty = frequencyPenalty,
            StopSequences = stop,
            Stream = head.Stream,
            StreamUsage = head.StreamUsage,
            User = head.User,
            OutputFormat = outputFormat,
            Reasoning = effort is { } level ? new Reasoning(level) : null,
            Untranslatable = untranslatable,
        };
    }

    /// <summary>
    /// What only an OpenAI upstream can answer (<see cref="ChatRequest.Untranslatable"/>): a spoken answer
    /// (<c>audio</c>, or <c>modalities</c> beyond text; gpt-4o-audio's <c>message.audio</c>), which a client waiting for
    /// audio would not get in text, and log probabilities (<c>logprobs</c>, <c>top_logprobs</c>), which no other format's
    /// answer carries, so a client reading <c>choices[0].logprobs.content</c> would fail on the null far from the cause
    /// (LiteLLM refuses them too). The error returned is a field that does not read.
    /// </summary>
    private static RelayError? ReadUntranslatable(JsonElement body, out RelayError? untranslatable)
    {
        untranslatable = null;
        var fields = new OpenAIChatFields();
        var logprobs = fields.Bool(body, "logprobs");
        var topLogprobs = fields.Integer(body, "top_logprobs");
        if (fields.Error is { } fieldError)
        {
            return fieldError;
        }

        if (OpenAIChatFields.TryGetPresent(body, "audio", out _))
        {
            untranslatable = RelayError.Invalid("audio: an upstream of another format answers in text only; leave audio out", "audio");
        }
        else if (OpenAIChatFields.TryGetPresent(body, "modalities", out var modalities))
        {
            if (modalities.ValueKind != JsonValueKind.Array)
            {
                return RelayError.Invalid("modalities: must be an array of strings", "modalities");
            }

            foreach (var modality in modalities.EnumerateArray())
            {
                if (!JsonFields.IsText(modality, "text"u8))
                {
                    untranslatable = RelayError.Invalid("modalities: an upstream of another format answers in text only; leave modalities out or [\"text\"]", "modalities");
                    break;
                }
            }
        }

        if (untranslatable is null && (logprobs == true || topLogprobs > 0))
        {
            var param = logprobs == true ? "logprobs" : "top_logprobs";
            untranslatable = RelayError.Invalid($"{param}: an upstream of another format gives no log probabilities; leave {param} out", param);
        }

        return null;
    }

    private RelayError? ReadMessage(JsonElement message, string path)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid($"{path}: must be an object", path);
        }

        var rolePath = path + ".role";
        if (!OpenAIChatFields.TryGetPresent(message, "role", out var roleElement))
        {
            return RelayError.Invalid($"{rolePath}: field required", rolePath);
        }

        var role = roleElement.ValueKind == JsonValueKind.String ? roleElement.GetString() : null;
        switch (role)
        {
            case "system" or "developer":
                return ReadSystem(message, path);
            case "user":
                return ReadUser(message, path);
            case "assistant":
                return ReadAssistant(message, path);
            case "tool":
                return ReadToolResult(message, path);
            default:
                return RelayError.Invalid($"{rolePath}: must be one of system, developer, user, assistant, tool", rolePath);
        }
    }

    private RelayError? ReadSystem(JsonElement message, string path)
    {
        var contentPath = path + ".content";
        if (!OpenAIChatFields.TryGetPresent(message, "content", out var content))
        {
            return RelayError.Invalid($"{contentPath}: field required", contentPath);
        }

        var parts = new List<ContentPart>();
        if (ReadContent(content, contentPath, parts, ContentKinds.Text) is { } error)
        {
            return error;
        }

        foreach (var part in parts)
        {
            _system.Add((TextPart)part);
        }

        return null;
    }

    private RelayError? ReadUser(JsonElement message, string path)
    {
        var contentPath = path + ".content";
        if (!OpenAIChatFields.TryGetPresent(message, "content", out var content))
        {
            return RelayError.Invalid($"{contentPath}: field required", contentPath);
        }

        var parts = new List<ContentPart>();
        if (ReadContent(content, contentPath, parts, ContentKinds.Text | ContentKinds.Image | ContentKinds.File) is { } error)
        {
            return error;
        }

        _messages.Add(new ChatMessage(ChatRole.User, parts));
        return null;
    }

    private RelayError? ReadAssistant(JsonElement message, string path)
    {
        var parts = new List<ContentPart>();
        var contentPath = path + ".content";
        if (OpenAIChatFields.TryGetPresent(message, "content", out var content)
            && ReadContent(content, contentPath, parts, ContentKinds.Text | ContentKinds.Refusal) is { } contentError)
        {
            return contentError;
        }

        // A refusal in the history is what the model said; the canonical model has no refusal part, so it stays text.
        var fields = new OpenAIChatFields();
        var refusal = fields.String(message, "refusal", path + ".refusal");
        if (fields.Error is { } refusalError)
        {
            return refusalError;
        }

        if (refusal is { Length: > 0 })
        {
            parts.Add(new TextPart(refusal));
        }

        var toolCallsPath = path + ".tool_calls";
        if (OpenAIChatFields.TryGetPresent(message, "tool_calls", out var toolCalls))
        {
            if (toolCalls.ValueKind != JsonValueKind.Array)
            {
                return RelayError.Invalid($"{toolCallsPath}: must be an array", toolCallsPath);
            }

            var index = 0;
            foreach (var toolCall in toolCalls.EnumerateArray())
            {
                if (ReadToolCall(toolCall, $"{toolCallsPath}[{index}]", parts) is { } toolCallError)
                {
                    return toolCallError;
                }

                index++;
            }
        }

        _messages.Add(new ChatMessage(ChatRole.Assistant, parts));
        return null;
    }

    private RelayError? ReadToolCall(JsonElement toolCall, string path, List<ContentPart> parts)
    {
        if (toolCall.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid($"{path}: must be an object", path);
        }

        if (OpenAIChatFields.RequireString(toolCall, "id", path, out var id) is { } idError)
        {
            return idError;
        }

        var typePath = path + ".type";
        var custom = false;
        if (OpenAIChatFields.TryGetPresent(toolCall, "type", out var type) && !JsonFields.IsText(type, "function"u8))
        {
            if (!JsonFields.IsText(type, "custom"u8))
            {
                return RelayError.Invalid($"{typePath}: must be one of function, custom", typePath);
            }

            custom = true;
        }

        if (custom)
        {
            return ReadCustomToolCall(toolCall, id, path, parts);
        }

        var functionPath = path + ".function";
        if (!OpenAIChatFields.TryGetPresent(toolCall, "function", out var function))
        {
            return RelayError.Invalid($"{functionPath}: field required", functionPath);
        }

        if (function.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid($"{functionPath}: must be an object", functionPath);
        }

        if (OpenAIChatFields.RequireString(function, "name", functionPath, out var name) is { } nameError)
        {
            return nameError;
        }

        // The wire form is a JSON string; some clients send the object itself, which means the same thing.
        var arguments = NoArguments;
        if (OpenAIChatFields.TryGetPresent(function, "arguments", out var argumentsElement))
        {
            if (argumentsElement.ValueKind == JsonValueKind.Object)
            {
                arguments = argumentsElement.GetRawText();
            }
            else if (argumentsElement.ValueKind != JsonValueKind.String)
            {
                var argumentsPath = functionPath + ".arguments";
                return RelayError.Invalid($"{argumentsPath}: must be a string", argumentsPath);
            }
            else if (argumentsElement.GetString() is { Length: > 0 } text)
            {
                arguments = text;
            }
        }

        _toolNames[id] = name;
        parts.Add(new ToolCallPart(id, name, arguments));
        return null;
    }

    /// <summary>
    /// A call to a custom tool (<c>{"type":"custom","custom":{"name":…,"input":…}}</c>): its free text becomes the
    /// arguments of the function that stands for the tool (<see cref="OpenAICustomTool"/>).
    /// </summary>
    private RelayError? ReadCustomToolCall(JsonElement toolCall, string id, string path, List<ContentPart> parts)
    {
        var customPath = path + ".custom";
        if (!OpenAIChatFields.TryGetPresent(toolCall, "custom", out var custom) || custom.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid($"{customPath}: must be an object", customPath);
        }

        if (OpenAIChatFields.RequireString(custom, "name", customPath, out var name) is { } nameError)
        {
            return nameError;
        }

        if (OpenAIChatFields.RequireString(custom, "input", customPath, out var input) is { } inputError)
        {
            return inputError;
        }

        _toolNames[id] = name;
        parts.Add(new ToolCallPart(id, name, OpenAICustomTool.Arguments(input)));
        return null;
    }

    private RelayError? ReadToolResult(JsonElement message, string path)
    {
        if (OpenAIChatFields.RequireString(message, "tool_call_id", path, out var toolCallId) is { } idError)
        {
            return idError;
        }

        var contentPath = path + ".content";
        if (!OpenAIChatFields.TryGetPresent(message, "content", out var content))
        {
            return RelayError.Invalid($"{contentPath}: field required", contentPath);
        }

        var parts = new List<ContentPart>();
        if (ReadContent(content, contentPath, parts, ContentKinds.Text | ContentKinds.Image) is { } error)
        {
            return error;
        }

        var result = new ToolResultPart(toolCallId, parts, ToolName: _toolNames.GetValueOrDefault(toolCallId));

        // Parallel calls come back as consecutive tool messages; one canonical Tool message holds them all, the way
        // Anthropic wants every result of a turn in one user message.
        if (_messages.Count > 0 && _messages[^1] is { Role: ChatRole.Tool, Content: List<ContentPart> previous })
        {
            previous.Add(result);
        }
        else
        {
            _messages.Add(new ChatMessage(ChatRole.Tool, new List<ContentPart> { result }));
        }

        return null;
    }

    /// <summary>Reads a <c>content</c> that is a string or an array of typed parts.</summary>
    private static RelayError? ReadContent(JsonElement content, string path, List<ContentPart> parts, ContentKinds allowed)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            parts.Add(new TextPart(content.GetString()!));
            return null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return RelayError.Invalid($"{path}: must be a string or an array of content parts", path);
        }

        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partPath = $"{path}[{index++}]";
            if (part.ValueKind != JsonValueKind.Object)
            {
                return RelayError.Invalid($"{partPath}: must be an object", partPath);
            }

            var typePath = partPath + ".type";
            var type = JsonFields.GetString(part, "type");
            if (type == "text" && (allowed & ContentKinds.Text) != 0)
            {
                if (OpenAIChatFields.RequireString(part, "text", partPath, out var text) is { } textError)
                {
                    return textError;
                }

                parts.Add(new TextPart(text, JsonFields.GetObjectCopy(part, "cache_control")));
            }
            else if (type == "refusal" && (allowed & ContentKinds.Refusal) != 0)
            {
                if (OpenAIChatFields.RequireString(part, "refusal", partPath, out var refusal) is { } refusalError)
                {
                    return refusalError;
                }

                parts.Add(new TextPart(refusal));
            }
            else if (type == "image_url" && (allowed & ContentKinds.Image) != 0)
            {
                if (ReadImage(part, partPath, parts) is { } imageError)
                {
                    return imageError;
                }
            }
            else if (type == "file" && (allowed & ContentKinds.File) != 0)
            {
                if (ReadFile(part, partPath, parts) is { } fileError)
                {
                    return fileError;
                }
            }
            else
            {
                return RelayError.Invalid($"{typePath}: {Describe(allowed)}", typePath);
            }
        }

        return null;
    }

    /// <summary>
    /// A <c>file</c> part: <c>file_data</c> is a data URL (some clients send the bare base64 of a PDF, the only type
    /// Chat Completions takes). A <c>file_id</c> names a file in OpenAI's store, which a translation cannot carry.
    /// </summary>
    private static RelayError? ReadFile(JsonElement part, string path, List<ContentPart> parts)
    {
        var filePath = path + ".file";
        if (!OpenAIChatFields.TryGetPresent(part, "file", out var file))
        {
            return RelayError.Invalid($"{filePath}: field required", filePath);
        }

        if (file.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid($"{filePath}: must be an object", filePath);
        }

        var fields = new OpenAIChatFields();
        var name = fields.String(file, "filename", filePath + ".filename");
        var fileId = fields.String(file, "file_id", filePath + ".file_id");
        if (fields.Error is { } fieldError)
        {
            return fieldError;
        }

        if (!OpenAIChatFields.TryGetPresent(file, "file_data", out _) && fileId is not null)
        {
            var idPath = filePath + ".file_id";
            return RelayError.Invalid($"{idPath}: {StoredFiles.OnlyWith(StoredFiles.OpenAI, "file_data")}", idPath);
        }

        if (OpenAIChatFields.RequireString(file, "file_data", filePath, out var fileData) is { } dataError)
        {
            return dataError;
        }

        parts.Add(DataUrl.TryParse(fileData, out var mediaType, out var data)
            ? new DocumentPart { MediaType = mediaType, Data = data, Name = name }
            : new DocumentPart { MediaType = DocumentPart.Pdf, Data = fileData, Name = name });
        return null;
    }

    private static RelayError? ReadImage(JsonElement part, string path, List<ContentPart> parts)
    {
        var imagePath = path + ".image_url";
        if (!OpenAIChatFields.TryGetPresent(part, "image_url", out var image))
        {
            return RelayError.Invalid($"{imagePath}: field required", imagePath);
        }

        string url;
        string? detail = null;
        if (image.ValueKind == JsonValueKind.Object)
        {
            if (OpenAIChatFields.RequireString(image, "url", imagePath, out url) is { } urlError)
            {
                return urlError;
            }

            detail = JsonFields.GetString(image, "detail");
        }
        else if (image.ValueKind == JsonValueKind.String)
        {
            // NOTE: the API wants an object, but early SDKs and several compatible clients send the URL string alone.
            url = image.GetString()!;
        }
        else
        {
            return RelayError.Invalid($"{imagePath}: must be an object", imagePath);
        }

        parts.Add(OpenAIChatWire.ReadImageUrl(url, detail, JsonFields.GetObjectCopy(part, "cache_control")));
        return null;
    }

    private static List<ToolDefinition> ReadTools(JsonElement body, out RelayError? error)
    {
        error = null;
        if (!OpenAIChatFields.TryGetPresent(body, "tools", out var tools))
        {
            return [];
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            error = RelayError.Invalid("tools: must be an array", "tools");
            return [];
        }

        var definitions = new List<ToolDefinition>(tools.GetArrayLength());
        var index = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var path = $"tools[{index++}]";
            if (tool.ValueKind != JsonValueKind.Object)
            {
                error = RelayError.Invalid($"{path}: must be an object", path);
                return [];
            }

            var typePath = path + ".type";
            if (tool.TryGetProperty("type", out var type) && JsonFields.IsText(type, "custom"u8))
            {
                if (ReadCustomTool(tool, path, out error) is not { } customTool)
                {
                    return [];
                }

                definitions.Add(customTool);
                continue;
            }

            if (!JsonFields.IsText(type, "function"u8))
            {
                error = RelayError.Invalid($"{typePath}: must be one of function, custom", typePath);
                return [];
            }

            var functionPath = path + ".function";
            if (!OpenAIChatFields.TryGetPresent(tool, "function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                error = RelayError.Invalid($"{functionPath}: must be an object", functionPath);
                return [];
            }

            if (OpenAIChatFields.RequireString(function, "name", functionPath, out var name) is { } nameError)
            {
                error = nameError;
                return [];
            }

            var parametersPath = functionPath + ".parameters";
            JsonObject parameters;
            if (!OpenAIChatFields.TryGetPresent(function, "parameters", out var parametersElement))
            {
                // OpenAI allows omitting the schema for a function without arguments; Anthropic and Gemini need one.
                parameters = ToolDefinition.NoParameters();
            }
            else if (parametersElement.ValueKind == JsonValueKind.Object)
            {
                parameters = JsonObject.Create(parametersElement.Clone())!;
            }
            else
            {
                error = RelayError.Invalid($"{parametersPath}: must be an object", parametersPath);
                return [];
            }

            if (JsonFields.ReadBool(function, "strict", out var strict, functionPath + ".strict") is { } strictError)
            {
                error = strictError;
                return [];
            }

            definitions.Add(new ToolDefinition(name, JsonFields.GetString(function, "description"), parameters)
            {
                CacheControl = JsonFields.GetObjectCopy(tool, "cache_control"),
                Strict = strict,
            });
        }

        return definitions;
    }

    /// <summary>
    /// A custom (freeform) tool, <c>{"type":"custom","custom":{"name":…,"description":…,"format":…}}</c> (GPT-5's
    /// grammar-constrained tools): declared to other upstreams as a function taking one string, <c>input</c>, with the
    /// grammar after the description, and its calls go back to the client as custom tool calls.
    /// </summary>
    private static ToolDefinition? ReadCustomTool(JsonElement tool, string path, out RelayError? error)
    {
        error = null;
        var customPath = path + ".custom";
        if (!OpenAIChatFields.TryGetPresent(tool, "custom", out var custom) || custom.ValueKind != JsonValueKind.Object)
        {
            error = RelayError.Invalid($"{customPath}: must be an object", customPath);
            return null;
        }

        if (OpenAIChatFields.RequireString(custom, "name", customPath, out var name) is { } nameError)
        {
            error = nameError;
            return null;
        }

        var fields = new OpenAIChatFields();
        var description = fields.String(custom, "description", customPath + ".description");
        if (fields.Error is { } descriptionError)
        {
            error = descriptionError;
            return null;
        }

        return new ToolDefinition(name, OpenAICustomTool.Description(description, custom), OpenAICustomTool.InputSchema())
        {
            CacheControl = JsonFields.GetObjectCopy(tool, "cache_control"),
            IsCustom = true,
        };
    }

    /// <param name="allowedTools">The names of the function tools an <c>allowed_tools</c> choice lets the model call; null for any other choice.</param>
    private static ToolChoice? ReadToolChoice(JsonElement body, out HashSet<string>? allowedTools, out RelayError? error)
    {
        allowedTools = null;
        error = null;
        if (!OpenAIChatFields.TryGetPresent(body, "tool_choice", out var choice))
        {
            return null;
        }

        if (JsonFields.ToolChoiceKeyword(choice) is { } keyword)
        {
            return keyword;
        }

        var type = choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("type", out var typeElement) ? typeElement : default;

        // A function or a custom tool, named the same way under a key of its kind.
        var kind = JsonFields.IsText(type, "function"u8) ? "function" : JsonFields.IsText(type, "custom"u8) ? "custom" : null;
        if (kind is not null && choice.TryGetProperty(kind, out var named) && named.ValueKind == JsonValueKind.Object)
        {
            if (OpenAIChatFields.RequireString(named, "name", "tool_choice." + kind, out var name) is { } nameError)
            {
                error = nameError;
                return null;
            }

            return new ToolChoice(ToolChoiceKind.Tool, name);
        }

        if (JsonFields.IsText(type, "allowed_tools"u8))
        {
            if (!choice.TryGetProperty("allowed_tools", out var allowed) || allowed.ValueKind != JsonValueKind.Object)
            {
                error = RelayError.Invalid("tool_choice.allowed_tools: field required", "tool_choice.allowed_tools");
                return null;
            }

            return OpenAIAllowedTools.Read(allowed, "tool_choice.allowed_tools", static path => path, AllowedToolName, out allowedTools, out error);
        }

        error = RelayError.Invalid(
            "tool_choice: must be one of auto, none, required, {\"type\": \"function\", \"function\": {\"name\": ...}}, {\"type\": \"custom\", \"custom\": {\"name\": ...}}, or {\"type\": \"allowed_tools\", ...}",
            "tool_choice");
        return null;
    }

    /// <summary>
    /// A listed function or custom tool by its name (<see cref="OpenAIAllowedTools"/>): <c>{"type":"function",
    /// "function":{"name":…}}</c> or <c>{"type":"custom","custom":{"name":…}}</c>; other kinds are skipped, as
    /// <see cref="ReadTools"/> refuses any in <c>tools</c>.
    /// </summary>
    private static RelayError? AllowedToolName(JsonElement tool, string path, out string? name)
    {
        name = null;
        if (!tool.TryGetProperty("type", out var type))
        {
            return null;
        }

        var kind = JsonFields.IsText(type, "function"u8) ? "function" : JsonFields.IsText(type, "custom"u8) ? "custom" : null;
        if (kind is null)
        {
            return null;
        }

        var kindPath = $"{path}.{kind}";
        if (!tool.TryGetProperty(kind, out var function) || function.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid($"{kindPath}: field required", kindPath);
        }

        var error = OpenAIChatFields.RequireString(function, "name", kindPath, out var given);
        name = error is null ? given : null;
        return error;
    }

    private static string Describe(ContentKinds allowed) => allowed switch
    {
        ContentKinds.Text => "must be text",
        ContentKinds.Text | ContentKinds.Image => "must be one of text, image_url",
        ContentKinds.Text | ContentKinds.Image | ContentKinds.File => "must be one of text, image_url, file",
        ContentKinds.Text | ContentKinds.Refusal => "must be one of text, refusal",
        _ => "must be one of " + allowed.ToString(),
    };

    [Flags]
    private enum ContentKinds
    {
        Text = 1,
        Image = 2,
        Refusal = 4,
        File = 8,
    }
}
