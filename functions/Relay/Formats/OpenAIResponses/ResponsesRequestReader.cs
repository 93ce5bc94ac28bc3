using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>Parses a <c>POST /v1/responses</c> body into a <see cref="ChatRequest"/>.</summary>
/// <remarks>https://platform.openai.com/docs/api-reference/responses/create</remarks>
internal static class ResponsesRequestReader
{
    private const string RoleList = "user, assistant, system, developer";
    private const string PartTypeList = "input_text, output_text, refusal, input_image, input_file";

    /// <summary>The rest of a request whose <paramref name="head"/> <see cref="ReadHead"/> has read from this body.</summary>
    public static Result<ChatRequest> Read(JsonElement body, RequestHead head)
    {
        if (JsonFields.CheckText(body) is { } textError)
        {
            return textError;
        }

        // Step 1 was the head (model, input present unless the upstream holds the conversation, stream, user): ReadHead.
        // Step 2: instructions come first in System, then system/developer messages in input order.
        var system = new List<TextPart>();
        if (body.TryGetProperty("instructions", out var instructions) && instructions.ValueKind != JsonValueKind.Null)
        {
            if (instructions.ValueKind != JsonValueKind.String)
            {
                return RelayError.Invalid("instructions: must be a string", "instructions");
            }

            system.Add(new TextPart(instructions.GetString()!));
        }

        // Step 3: input, a string or an array (ReadHead checked which), or none where the upstream holds the conversation.
        var messages = new List<ChatMessage>();
        if (JsonFields.TryGetPresent(body, "input", out var input) && input.ValueKind == JsonValueKind.String)
        {
            messages.Add(new ChatMessage(ChatRole.User, [new TextPart(input.GetString()!)]));
        }
        else if (input.ValueKind == JsonValueKind.Array && ReadItems(input, system, messages) is { } itemsError)
        {
            return itemsError;
        }

        // Step 4: tools and settings.
        var tools = ReadTools(body, out var toolsError);
        if (toolsError is not null)
        {
            return toolsError;
        }

        var toolChoice = ReadToolChoice(body, out var allowedTools, out var untranslatable, out var choiceError);
        if (choiceError is not null)
        {
            return choiceError;
        }

        OpenAIAllowedTools.Restrict(tools, allowedTools);

        if (JsonFields.ReadBool(body, "parallel_tool_calls", out var parallel) is { } e1)
        {
            return e1;
        }

        if (JsonFields.ReadNumber(body, "temperature", out var temperature) is { } e2)
        {
            return e2;
        }

        if (JsonFields.ReadNumber(body, "top_p", out var topP) is { } e3)
        {
            return e3;
        }

        if (JsonFields.ReadPositiveInt(body, "max_output_tokens", out var maxOutputTokens) is { } e4)
        {
            return e4;
        }

        var outputFormat = ReadTextFormat(body, out var formatError);
        if (formatError is not null)
        {
            return formatError;
        }

        var reasoning = ReadReasoning(body, out var reasoningError);
        if (reasoningError is not null)
        {
            return reasoningError;
        }

        return new ChatRequest
        {
            Model = head.Model,
            System = system,
            Messages = messages,
            Tools = tools,
            ToolChoice = toolChoice,
            ParallelToolCalls = parallel,
            Temperature = temperature,
            TopP = topP,
            MaxOutputTokens = maxOutputTokens,
            Stream = head.Stream,
            User = head.User,
            OutputFormat = outputFormat,
            Reasoning = reasoning,
            Untranslatable = untranslatable,
        };
    }

    /// <summary>
    /// The request's head: model, stream flag, user and what of the upstream's store it uses (the response or the
    /// conversation it continues, the prompt template it fills in), and the checks every request must pass (an object
    /// with a model, and an input unless the upstream's store holds the conversation or the prompt).
    /// <see cref="WholeRequest"/> starts with it; a same-format relay reads nothing more.
    /// </summary>
    public static Result<RequestHead> ReadHead(JsonElement body)
    {
        if (JsonFields.RequiredModel(body, "body", out var model) is { } modelError)
        {
            return modelError;
        }

        if (JsonFields.ReadBool(body, "stream", out var stream) is { } streamError)
        {
            return streamError;
        }

        // NOTE: `user` is deprecated in favour of safety_identifier (abuse tracking) and prompt_cache_key (cache
        // routing); any of them identifies the end user or session well enough for the canonical User.
        string? user = null;
        foreach (var name in (ReadOnlySpan<string>)["user", "safety_identifier", "prompt_cache_key"])
        {
            if (JsonFields.ReadString(body, name, out var value) is { } userError)
            {
                return userError;
            }

            user ??= value;
        }

        if (JsonFields.ReadString(body, "previous_response_id", out var previousResponseId) is { } previousError)
        {
            return previousError;
        }

        if (ReadStoredId(body, "conversation", idAlone: true, out var conversationId) is { } conversationError)
        {
            return conversationError;
        }

        if (ReadStoredId(body, "prompt", idAlone: false, out var promptId) is { } promptError)
        {
            return promptError;
        }

        // NOTE: input is optional where the upstream holds what the model reads (a stored response, conversation or prompt
        // template); such a request can then only go to that upstream (RelayForwarder).
        if (!JsonFields.TryGetPresent(body, "input", out var input))
        {
            if (previousResponseId is null && conversationId is null && promptId is null)
            {
                return RelayError.Invalid("input: field required", "input");
            }
        }
        else if (input.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return RelayError.Invalid("input: must be a string or an array", "input");
        }

        if (JsonFields.ReadBool(body, "store", out var store) is { } storeError)
        {
            return storeError;
        }

        return new RequestHead(model, stream ?? false, User: user, PreviousResponseId: previousResponseId, StoresResponse: store ?? true, ConversationId: conversationId, PromptId: promptId);
    }

    /// <summary>
    /// The id of what the request uses from the upstream's store under <paramref name="name"/>: an object with an
    /// <c>id</c> (a <c>prompt</c> template, a <c>conversation</c>), or, where <paramref name="idAlone"/>, the id itself.
    /// </summary>
    private static RelayError? ReadStoredId(JsonElement body, string name, bool idAlone, out string? id)
    {
        id = null;
        if (!JsonFields.TryGetPresent(body, name, out var element))
        {
            return null;
        }

        if (idAlone && element.ValueKind == JsonValueKind.String)
        {
            return JsonFields.ReadString(body, name, out id);
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid(idAlone ? $"{name}: must be a string or an object" : $"{name}: must be an object", name);
        }

        if (JsonFields.ReadString(element, "id", out id, $"{name}.id", name) is { } idError)
        {
            return idError;
        }

        return id is null ? RelayError.Invalid($"{name}.id: field required", name) : null;
    }

    /// <summary>
    /// The conversation's start, read in place: the instructions and every system or developer message of the input,
    /// then the first user message (or the input itself when it is a string).
    /// </summary>
    public static void ReadConversationStart(JsonElement body, IConversationStart to)
    {
        if (JsonFields.TryGetPresent(body, "instructions", out var instructions) && instructions.ValueKind == JsonValueKind.String)
        {
            to.AddSystem(instructions);
        }

        if (!JsonFields.TryGetPresent(body, "input", out var input))
        {
            return;
        }

        if (input.ValueKind == JsonValueKind.String)
        {
            to.AddUser(input);
            return;
        }

        if (input.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var item in input.EnumerateArray())
        {
            if (ConversationTexts.HasRole(item, "system"u8, "developer"u8) && JsonFields.TryGetPresent(item, "content", out var content))
            {
                ConversationTexts.Add(content, to, system: true, "input_text"u8, "output_text"u8);
            }
        }

        if (ConversationTexts.TryFindFirst(input, "user"u8, out var user) && JsonFields.TryGetPresent(user, "content", out var userContent))
        {
            ConversationTexts.Add(userContent, to, system: false, "input_text"u8, "output_text"u8);
        }
    }

    private static RelayError? ReadItems(JsonElement input, List<TextPart> system, List<ChatMessage> messages)
    {
        // Tool names by call id, so tool results can carry the called tool's name (Gemini needs it).
        Dictionary<string, string>? toolNames = null;
        var index = 0;
        foreach (var item in input.EnumerateArray())
        {
            var path = $"input[{index}]";
            index++;
            if (item.ValueKind != JsonValueKind.Object)
            {
                return RelayError.Invalid($"{path}: must be an object", "input");
            }

            string? type = null;
            if (item.TryGetProperty("type", out var typeElement) && typeElement.ValueKind != JsonValueKind.Null)
            {
                if (typeElement.ValueKind != JsonValueKind.String)
                {
                    return RelayError.Invalid($"{path}.type: must be a string", "input");
                }

                type = typeElement.GetString();
            }

            RelayError? error;
            switch (type)
            {
                // NOTE: `type` is optional on messages (the "easy input message" shape is just {role, content}).
                case null or "message":
                    error = ReadMessage(item, path, system, messages);
                    break;
                case "function_call" or "custom_tool_call":
                    error = ReadFunctionCall(item, path, custom: type == "custom_tool_call", messages, ref toolNames);
                    break;
                case "function_call_output" or "custom_tool_call_output":
                    error = ReadFunctionCallOutput(item, path, messages, toolNames);
                    break;
                case "reasoning":
                    ReadReasoning(item, messages);
                    error = null;
                    break;
                default:
                    // Built-in tool calls and item references (which need OpenAI's stored state) have no canonical form.
                    error = null;
                    break;
            }

            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private static RelayError? ReadMessage(JsonElement item, string path, List<TextPart> system, List<ChatMessage> messages)
    {
        if (!item.TryGetProperty("role", out var roleElement) || roleElement.ValueKind == JsonValueKind.Null)
        {
            return RelayError.Invalid($"{path}.role: field required", "input");
        }

        var role = roleElement.ValueKind == JsonValueKind.String ? roleElement.GetString() : null;
        var isSystem = role is "system" or "developer";
        if (!isSystem && role is not ("user" or "assistant"))
        {
            return RelayError.Invalid($"{path}.role: must be one of {RoleList}", "input");
        }

        if (!item.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return RelayError.Invalid($"{path}.content: field required", "input");
        }

        var parts = new List<ContentPart>();
        var error = ReadContent(content, $"{path}.content", parts);
        if (error is not null)
        {
            return error;
        }

        if (isSystem)
        {
            // Images have no place in canonical System; only the text is kept.
            foreach (var part in parts)
            {
                if (part is TextPart text)
                {
                    system.Add(text);
                }
            }

            return null;
        }

        // The text of a turn that reasoning opened joins it (ReadReasoning).
        if (role == "assistant" && messages.Count > 0 && messages[^1] is { Role: ChatRole.Assistant, Content: [.., ThinkingPart] } thought)
        {
            messages[^1] = thought with { Content = [.. thought.Content, .. parts] };
            return null;
        }

        messages.Add(new ChatMessage(role == "user" ? ChatRole.User : ChatRole.Assistant, parts));
        return null;
    }

    /// <summary>
    /// A reasoning item the relay wrote for thinking another provider signed (<see cref="ResponsesSignedReasoning"/>):
    /// that thinking, with its signature, in the assistant turn it opens, whose text and calls follow it in the input.
    /// Any other reasoning item (OpenAI's own encrypted reasoning) means nothing to other upstreams and is dropped.
    /// </summary>
    private static void ReadReasoning(JsonElement item, List<ChatMessage> messages)
    {
        if (!ResponsesSignedReasoning.TryRead(item, out var thinking))
        {
            return;
        }

        if (messages.Count > 0 && messages[^1] is { Role: ChatRole.Assistant } previous)
        {
            messages[^1] = previous with { Content = [.. previous.Content, thinking] };
        }
        else
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, [thinking]));
        }
    }

    /// <param name="custom">A <c>custom_tool_call</c>, whose free text <c>input</c> becomes the arguments of the function that stands for its tool (<see cref="OpenAICustomTool"/>).</param>
    private static RelayError? ReadFunctionCall(JsonElement item, string path, bool custom, List<ChatMessage> messages, ref Dictionary<string, string>? toolNames)
    {
        if (JsonFields.RequiredString(item, "call_id", (path, "input"), JsonFields.InvalidField, out var callId) is { } e1)
        {
            return e1;
        }

        if (JsonFields.RequiredString(item, "name", (path, "input"), JsonFields.InvalidField, out var name) is { } e2)
        {
            return e2;
        }

        if (JsonFields.RequiredString(item, custom ? "input" : "arguments", (path, "input"), JsonFields.InvalidField, out var arguments) is { } e3)
        {
            return e3;
        }

        (toolNames ??= new Dictionary<string, string>(StringComparer.Ordinal))[callId] = name;
        var call = new ToolCallPart(callId, name, custom ? OpenAICustomTool.Arguments(arguments) : arguments);

        // Responses lists each call as its own item; canonically they belong to the assistant turn they follow.
        if (messages.Count > 0 && messages[^1] is { Role: ChatRole.Assistant } previous)
        {
            messages[^1] = previous with { Content = [.. previous.Content, call] };
        }
        else
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, [call]));
        }

        return null;
    }

    private static RelayError? ReadFunctionCallOutput(JsonElement item, string path, List<ChatMessage> messages, Dictionary<string, string>? toolNames)
    {
        if (JsonFields.RequiredString(item, "call_id", (path, "input"), JsonFields.InvalidField, out var callId) is { } e1)
        {
            return e1;
        }

        if (!item.TryGetProperty("output", out var output) || output.ValueKind == JsonValueKind.Null)
        {
            return RelayError.Invalid($"{path}.output: field required", "input");
        }

        List<ContentPart> content;
        if (output.ValueKind == JsonValueKind.String)
        {
            content = [new TextPart(output.GetString()!)];
        }
        else if (output.ValueKind == JsonValueKind.Array)
        {
            content = [];
            var error = ReadContent(output, $"{path}.output", content);
            if (error is not null)
            {
                return error;
            }
        }
        else
        {
            return RelayError.Invalid($"{path}.output: must be a string or an array", "input");
        }

        var result = new ToolResultPart(callId, content, ToolName: toolNames?.GetValueOrDefault(callId));

        // Adjacent results answer one assistant turn; one Tool message keeps them together (Anthropic needs that).
        if (messages.Count > 0 && messages[^1] is { Role: ChatRole.Tool } previous)
        {
            messages[^1] = previous with { Content = [.. previous.Content, result] };
        }
        else
        {
            messages.Add(new ChatMessage(ChatRole.Tool, [result]));
        }

        return null;
    }

    private static RelayError? ReadContent(JsonElement content, string path, List<ContentPart> parts)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            parts.Add(new TextPart(content.GetString()!));
            return null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return RelayError.Invalid($"{path}: must be a string or an array", "input");
        }

        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partPath = $"{path}[{index}]";
            index++;
            if (part.ValueKind != JsonValueKind.Object)
            {
                return RelayError.Invalid($"{partPath}: must be an object", "input");
            }

            if (!part.TryGetProperty("type", out var typeElement) || typeElement.ValueKind == JsonValueKind.Null)
            {
                return RelayError.Invalid($"{partPath}.type: field required", "input");
            }

            var type = typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString() : null;
            switch (type)
            {
                case "input_text" or "output_text":
                    {
                        if (JsonFields.RequiredString(part, "text", (partPath, "input"), JsonFields.InvalidField, out var text) is { } error)
                        {
                            return error;
                        }

                        parts.Add(new TextPart(text));
                        break;
                    }

                case "refusal":
                    {
                        // A refusal in assistant history is still what the assistant said.
                        if (JsonFields.RequiredString(part, "refusal", (partPath, "input"), JsonFields.InvalidField, out var refusal) is { } error)
                        {
                            return error;
                        }

                        parts.Add(new TextPart(refusal));
                        break;
                    }

                case "input_image":
                    {
                        var error = ReadImage(part, partPath, out var image);
                        if (error is not null)
                        {
                            return error;
                        }

                        parts.Add(image!);
                        break;
                    }

                case "input_file":
                    {
                        var error = ReadFile(part, partPath, out var document);
                        if (error is not null)
                        {
                            return error;
                        }

                        parts.Add(document!);
                        break;
                    }

                default:
                    return RelayError.Invalid($"{partPath}.type: must be one of {PartTypeList}", "input");
            }
        }

        return null;
    }

    private static RelayError? ReadImage(JsonElement part, string path, out ImagePart? image)
    {
        image = null;

        // NOTE: images by file_id live in OpenAI's file store; no other upstream can resolve them.
        if (!part.TryGetProperty("image_url", out var urlElement) || urlElement.ValueKind == JsonValueKind.Null)
        {
            return RelayError.Invalid($"{path}.image_url: field required", "input");
        }

        if (urlElement.ValueKind != JsonValueKind.String || urlElement.GetString() is not { Length: > 0 } url)
        {
            return RelayError.Invalid($"{path}.image_url: must be a non-empty string", "input");
        }

        if (JsonFields.ReadString(part, "detail", out var detail, $"{path}.detail", "input") is { } error)
        {
            return error;
        }

        image = DataUrl.TryParse(url, out var mediaType, out var data)
            ? new ImagePart { MediaType = mediaType, Data = data, Detail = detail }
            : new ImagePart { Url = url, Detail = detail };
        return null;
    }

    /// <summary>
    /// An <c>input_file</c>: inline <c>file_data</c> (a data URL; bare base64 is taken as a PDF) or a <c>file_url</c>.
    /// A <c>file_id</c> alone names a file in OpenAI's store, which a translation cannot carry.
    /// </summary>
    private static RelayError? ReadFile(JsonElement part, string path, out DocumentPart? document)
    {
        document = null;
        string? name = null, fileData = null, fileUrl = null, fileId = null;
        RelayError? error;
        if ((error = JsonFields.ReadString(part, "filename", out name, $"{path}.filename", "input")) is not null
            || (error = JsonFields.ReadString(part, "file_data", out fileData, $"{path}.file_data", "input")) is not null
            || (error = JsonFields.ReadString(part, "file_url", out fileUrl, $"{path}.file_url", "input")) is not null
            || (error = JsonFields.ReadString(part, "file_id", out fileId, $"{path}.file_id", "input")) is not null)
        {
            return error;
        }

        if (fileData is not null)
        {
            document = DataUrl.TryParse(fileData, out var mediaType, out var data)
                ? new DocumentPart { MediaType = mediaType, Data = data, Name = name }
                : new DocumentPart { MediaType = DocumentPart.Pdf, Data = fileData, Name = name };
            return null;
        }

        if (fileUrl is { Length: > 0 })
        {
            document = new DocumentPart { Url = fileUrl, Name = name };
            return null;
        }

        return fileId is not null
            ? RelayError.Invalid($"{path}.file_id: {StoredFiles.OnlyWith(StoredFiles.OpenAI, "file_data")}", "input")
            : RelayError.Invalid($"{path}: one of file_data, file_url or file_id is required", "input");
    }

    /// <summary>
    /// The function and custom tools of <paramref name="owner"/>'s <c>tools</c>: the body's, or those of a
    /// <c>namespace</c> tool, which join the one list under their own names (<paramref name="namespace"/> set).
    /// </summary>
    private static List<ToolDefinition> ReadTools(JsonElement owner, out RelayError? error, string at = "tools", string? @namespace = null, List<ToolDefinition>? tools = null)
    {
        error = null;
        tools ??= [];
        if (!owner.TryGetProperty("tools", out var toolsElement) || toolsElement.ValueKind == JsonValueKind.Null)
        {
            return tools;
        }

        if (toolsElement.ValueKind != JsonValueKind.Array)
        {
            error = RelayError.Invalid($"{at}: must be an array", "tools");
            return tools;
        }

        var index = 0;
        foreach (var tool in toolsElement.EnumerateArray())
        {
            var path = $"{at}[{index}]";
            index++;
            if (tool.ValueKind != JsonValueKind.Object)
            {
                error = RelayError.Invalid($"{path}: must be an object", "tools");
                return tools;
            }

            if (JsonFields.RequiredString(tool, "type", (path, "tools"), JsonFields.InvalidField, out var type) is { } typeError)
            {
                error = typeError;
                return tools;
            }

            // NOTE: how OpenAI shows a namespace's tools to its models is not documented; its calls name the tool and
            // the namespace apart (function_call.namespace), so the tools go by their own names and remember it.
            if (type == "namespace" && @namespace is null)
            {
                if (JsonFields.RequiredString(tool, "name", (path, "tools"), JsonFields.InvalidField, out var namespaceName) is { } namespaceError)
                {
                    error = namespaceError;
                    return tools;
                }

                ReadTools(tool, out error, path + ".tools", namespaceName, tools);
                if (error is not null)
                {
                    return tools;
                }

                continue;
            }

            // Built-in tools (web_search, file_search, computer_use, mcp, …) run inside OpenAI; other upstreams
            // cannot execute them. A same-format relay forwards the raw body, so nothing is lost there.
            if (type is not ("function" or "custom"))
            {
                continue;
            }

            if (JsonFields.RequiredString(tool, "name", (path, "tools"), JsonFields.InvalidField, out var name) is { } nameError)
            {
                error = nameError;
                return tools;
            }

            if (JsonFields.ReadString(tool, "description", out var description, $"{path}.description", "tools") is { } descriptionError)
            {
                error = descriptionError;
                return tools;
            }

            if (JsonFields.ReadBool(tool, "strict", out var strict, $"{path}.strict") is { } strictError)
            {
                error = strictError with { Param = "tools" };
                return tools;
            }

            JsonObject parameters;
            if (type == "custom")
            {
                parameters = OpenAICustomTool.InputSchema();
                description = OpenAICustomTool.Description(description, tool);
            }
            else if (!tool.TryGetProperty("parameters", out var parametersElement) || parametersElement.ValueKind == JsonValueKind.Null)
            {
                parameters = ToolDefinition.NoParameters();
            }
            else if (parametersElement.ValueKind == JsonValueKind.Object)
            {
                // NOTE: JsonObject.Create wraps the element lazily; Clone detaches it from the request's pooled document.
                parameters = JsonObject.Create(parametersElement.Clone())!;
            }
            else
            {
                error = RelayError.Invalid($"{path}.parameters: must be an object", "tools");
                return tools;
            }

            tools.Add(new ToolDefinition(name, description, parameters) { Strict = strict, IsCustom = type == "custom", Namespace = @namespace });
        }

        return tools;
    }

    /// <param name="allowedTools">The names of the function tools an <c>allowed_tools</c> choice lets the model call; null for any other choice.</param>
    /// <param name="untranslatable">A choice that forces one of OpenAI's built-in tools, which only an OpenAI account runs.</param>
    private static ToolChoice? ReadToolChoice(JsonElement body, out HashSet<string>? allowedTools, out RelayError? untranslatable, out RelayError? error)
    {
        allowedTools = null;
        untranslatable = null;
        error = null;
        if (!body.TryGetProperty("tool_choice", out var choice) || choice.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (JsonFields.ToolChoiceKeyword(choice) is { } keyword)
        {
            return keyword;
        }

        if (choice.ValueKind == JsonValueKind.Object)
        {
            var type = choice.TryGetProperty("type", out var typeElement) && typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString() : null;
            // A custom tool is a function to other upstreams (ReadTools).
            if (type is "function" or "custom")
            {
                if (JsonFields.RequiredString(choice, "name", ("tool_choice", "tool_choice"), JsonFields.InvalidField, out var name) is { } nameError)
                {
                    error = nameError;
                    return null;
                }

                return new ToolChoice(ToolChoiceKind.Tool, name);
            }

            if (type == "allowed_tools")
            {
                return OpenAIAllowedTools.Read(choice, "tool_choice", static _ => "tool_choice", AllowedToolName, out allowedTools, out error);
            }

            if (type is not null)
            {
                // NOTE: a choice that forces a built-in tool (web_search_preview, file_search, ...): the tool is dropped in
                // a translation, and the model would answer without it as if it had used it, so a translation refuses it
                // (ChatRequest.Untranslatable); an OpenAI account in the pool still serves it.
                untranslatable = RelayError.Invalid(
                    $"tool_choice.type: {type} is OpenAI's built-in tool, which runs only at OpenAI, and this model is served by translating the request for another provider; use a model an OpenAI account serves",
                    "tool_choice");
                return null;
            }
        }

        error = RelayError.Invalid("tool_choice: must be one of auto, none, required, or {\"type\":\"function\",\"name\":...}", "tool_choice");
        return null;
    }

    /// <summary>A listed function or custom tool by its name (<see cref="OpenAIAllowedTools"/>); built-in ones were dropped with the tools themselves.</summary>
    private static RelayError? AllowedToolName(JsonElement tool, string path, out string? name)
    {
        name = null;
        if (!tool.TryGetProperty("type", out var type) || !(JsonFields.IsText(type, "function"u8) || JsonFields.IsText(type, "custom"u8)))
        {
            return null;
        }

        var error = JsonFields.RequiredString(tool, "name", (path, "tool_choice"), JsonFields.InvalidField, out var given);
        name = given;
        return error;
    }

    /// <summary><c>text.format</c>, the structured output; the rest of <c>text</c> (verbosity) has no canonical form.</summary>
    private static OutputFormat? ReadTextFormat(JsonElement body, out RelayError? error)
    {
        error = null;
        if (!JsonFields.TryGetPresent(body, "text", out var text))
        {
            return null;
        }

        if (text.ValueKind != JsonValueKind.Object)
        {
            error = RelayError.Invalid("text: must be an object", "text");
            return null;
        }

        if (!JsonFields.TryGetPresent(text, "format", out var format))
        {
            return null;
        }

        error = OpenAIOutputFormat.Read(format, "text.format", "text.format", schemaField: null, out var value);
        return value;
    }

    /// <summary><c>reasoning: {effort, summary}</c>; an object with neither says nothing.</summary>
    private static Reasoning? ReadReasoning(JsonElement body, out RelayError? error)
    {
        error = null;
        if (!JsonFields.TryGetPresent(body, "reasoning", out var reasoning))
        {
            return null;
        }

        if (reasoning.ValueKind != JsonValueKind.Object)
        {
            error = RelayError.Invalid("reasoning: must be an object", "reasoning");
            return null;
        }

        ReasoningEffort? effort = null;
        if (JsonFields.TryGetPresent(reasoning, "effort", out var effortElement)
            && (error = OpenAIReasoning.ReadEffort(effortElement, "reasoning.effort", "reasoning.effort", out effort)) is not null)
        {
            return null;
        }

        bool? summary = null;
        foreach (var name in (ReadOnlySpan<string>)["summary", "generate_summary"])
        {
            if (!JsonFields.TryGetPresent(reasoning, name, out var summaryElement))
            {
                continue;
            }

            if (!OpenAIReasoning.IsSummary(summaryElement))
            {
                error = RelayError.Invalid($"reasoning.{name}: must be one of auto, concise, detailed", "reasoning." + name);
                return null;
            }

            summary = true;
        }

        return effort is null && summary is null ? null : new Reasoning(effort, IncludeThoughts: summary);
    }
}
