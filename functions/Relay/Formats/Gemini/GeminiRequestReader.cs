using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.Gemini;

/// <summary>
/// Reads a client's <c>generateContent</c> body (https://ai.google.dev/api/generate-content#request-body).
/// Field names are accepted in camelCase and snake_case, as the REST API does.
/// </summary>
internal static class GeminiRequestReader
{
    /// <summary>A function call's arguments when it sends none.</summary>
    internal const string NoArguments = "{}";

    /// <summary>A function response's text when it sends no response object.</summary>
    internal const string NoResponse = "{}";

    /// <summary>The rest of a request whose <paramref name="head"/> <see cref="ReadHead"/> has read from this body.</summary>
    public static Result<ChatRequest> Read(JsonElement body, RequestHead head)
    {
        if (JsonFields.CheckText(body) is { } textError)
        {
            return textError;
        }

        // NOTE: the reader runs only for a request translated for another provider (a same-format relay forwards the
        // bytes, cachedContent with them); without the cache the answer would lack its system prompt, tools and turns.
        if (GeminiJson.TryGet(body, "cachedContent", "cached_content", out _))
        {
            return Invalid("cachedContent", StoredFiles.CachedOnlyWithGemini);
        }

        var system = ReadSystem(body, out var error);
        if (error is not null)
        {
            return error;
        }

        var messages = ReadContents(body.GetProperty("contents"), out error);
        if (error is not null)
        {
            return error;
        }

        var tools = ReadTools(body, out error);
        if (error is not null)
        {
            return error;
        }

        var toolChoice = ReadToolChoice(body, out error);
        if (error is not null)
        {
            return error;
        }

        double? temperature = null, topP = null, presencePenalty = null, frequencyPenalty = null;
        int? maxOutputTokens = null, candidates = null, topK = null;
        RelayError? untranslatable = null;
        long? seed = null;
        IReadOnlyList<string> stopSequences = [];
        OutputFormat? outputFormat = null;
        Reasoning? reasoning = null;
        if (GeminiJson.TryGet(body, "generationConfig", "generation_config", out var config))
        {
            if (config.ValueKind != JsonValueKind.Object)
            {
                return Invalid("generationConfig", "must be an object");
            }

            error = ReadNumber(config, "temperature", "temperature", out temperature)
                ?? ReadNumber(config, "topP", "top_p", out topP)
                ?? ReadInteger(config, "maxOutputTokens", "max_output_tokens", out maxOutputTokens)
                ?? ReadStopSequences(config, out stopSequences)
                ?? ReadInteger(config, "candidateCount", "candidate_count", out candidates)
                ?? ReadInteger(config, "topK", "top_k", out topK)
                ?? ReadNumber(config, "presencePenalty", "presence_penalty", out presencePenalty)
                ?? ReadNumber(config, "frequencyPenalty", "frequency_penalty", out frequencyPenalty)
                ?? (GeminiJson.TryGet(config, "seed", "seed", out var seedElement) ? JsonFields.Integer(seedElement, "generationConfig.seed", out seed) : null)
                ?? ReadThinkingConfig(config, out reasoning);
            if (error is not null)
            {
                return error;
            }

            // NOTE: a translated answer has one candidate, as OpenAI's has one choice (n); a Gemini account in the pool
            // still serves it.
            if (candidates > 1)
            {
                untranslatable = Invalid("generationConfig.candidateCount", "an upstream of another format gives one candidate only; leave it out or at 1");
            }

            outputFormat = ReadOutputFormat(config);
        }

        return new ChatRequest
        {
            Model = head.Model,
            System = system,
            Messages = messages!,
            Tools = tools,
            ToolChoice = toolChoice,
            Temperature = temperature,
            TopP = topP,
            TopK = topK,
            Seed = seed,
            PresencePenalty = presencePenalty,
            FrequencyPenalty = frequencyPenalty,
            MaxOutputTokens = maxOutputTokens,
            StopSequences = stopSequences,
            Stream = head.Stream,
            OutputFormat = outputFormat,
            Reasoning = reasoning,
            Untranslatable = untranslatable,
        };
    }

    /// <summary><c>models/gemini-2.5-flash</c>, <c>gemini-2.5-flash</c> and <c>models/gemini-2.5-flash:generateContent</c> all name <c>gemini-2.5-flash</c>.</summary>
    public static string NormalizeModel(string? modelFromPath)
    {
        var model = (modelFromPath ?? string.Empty).AsSpan().Trim().TrimStart('/');
        if (model.StartsWith("models/", StringComparison.Ordinal))
        {
            model = model["models/".Length..];
        }

        var colon = model.IndexOf(':');
        if (colon >= 0)
        {
            model = model[..colon];
        }

        return model.Trim('/').ToString();
    }

    private static List<TextPart> ReadSystem(JsonElement body, out RelayError? error)
    {
        error = null;
        if (!GeminiJson.TryGet(body, "systemInstruction", "system_instruction", out var instruction))
        {
            return [];
        }

        if (instruction.ValueKind != JsonValueKind.Object)
        {
            error = Invalid("systemInstruction", "must be an object");
            return [];
        }

        if (!GeminiJson.TryGet(instruction, "parts", out var parts))
        {
            return [];
        }

        if (parts.ValueKind != JsonValueKind.Array)
        {
            error = Invalid("systemInstruction.parts", "must be an array");
            return [];
        }

        var result = new List<TextPart>(parts.GetArrayLength());
        var index = 0;
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                error = Invalid($"systemInstruction.parts[{index}].text", "field required");
                return [];
            }

            result.Add(new TextPart(text.GetString()!));
            index++;
        }

        return result;
    }

    /// <summary>
    /// The request's head: the model (from the URL), the stream flag (from the route), and the checks every request must
    /// pass (an object with contents). <see cref="WholeRequest"/> starts with it; a same-format relay reads nothing more.
    /// </summary>
    public static Result<RequestHead> ReadHead(JsonElement body, string? modelFromPath, bool stream)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return RelayError.Invalid("request body: must be a JSON object");
        }

        var model = NormalizeModel(modelFromPath);
        if (model.Length == 0)
        {
            return RelayError.Invalid("model: must be given in the URL path, as models/{model}:generateContent", "model");
        }

        if (RequestHead.CheckModelLength(model) is { } tooLong)
        {
            return tooLong;
        }

        if (!GeminiJson.TryGet(body, "contents", out var contents))
        {
            return Invalid("contents", "field required");
        }

        if (contents.ValueKind != JsonValueKind.Array)
        {
            return Invalid("contents", "must be an array");
        }

        if (contents.GetArrayLength() == 0)
        {
            return Invalid("contents", "must not be empty");
        }

        return new RequestHead(model, stream);
    }

    /// <summary>The conversation's start, read in place: the system instruction's parts, then the first user content's.</summary>
    public static void ReadConversationStart(JsonElement body, IConversationStart to)
    {
        if (GeminiJson.TryGet(body, "systemInstruction", "system_instruction", out var system) && GeminiJson.TryGet(system, "parts", out var systemParts))
        {
            ConversationTexts.Add(systemParts, to, system: true);
        }

        if (GeminiJson.TryGet(body, "contents", out var contents)
            && ConversationTexts.TryFindFirst(contents, "user"u8, out var user, orNone: true)
            && GeminiJson.TryGet(user, "parts", out var parts))
        {
            ConversationTexts.Add(parts, to, system: false);
        }
    }

    /// <param name="contents">The <c>contents</c> array, already checked by <see cref="ReadHead"/>.</param>
    private static List<ChatMessage>? ReadContents(JsonElement contents, out RelayError? error)
    {
        error = null;
        var messages = new List<ChatMessage>(contents.GetArrayLength());

        // Calls not yet answered, in order; Gemini pairs a functionResponse with its call by name (or by id when present).
        var pending = new List<(string Id, string Name)>();
        var contentIndex = 0;
        foreach (var content in contents.EnumerateArray())
        {
            error = ReadContent(content, contentIndex, messages, pending);
            if (error is not null)
            {
                return null;
            }

            contentIndex++;
        }

        return messages;
    }

    private static RelayError? ReadContent(JsonElement content, int contentIndex, List<ChatMessage> messages, List<(string Id, string Name)> pending)
    {
        var path = $"contents[{contentIndex}]";
        if (content.ValueKind != JsonValueKind.Object)
        {
            return Invalid(path, "must be an object");
        }

        var isModel = false;
        if (GeminiJson.TryGet(content, "role", out var role))
        {
            switch (role.ValueKind == JsonValueKind.String ? role.GetString() : null)
            {
                case "user" or "function" or "":
                    break;
                case "model":
                    isModel = true;
                    break;
                default:
                    return Invalid($"{path}.role", "must be one of user, model");
            }
        }

        if (!GeminiJson.TryGet(content, "parts", out var parts))
        {
            return Invalid($"{path}.parts", "field required");
        }

        if (parts.ValueKind != JsonValueKind.Array)
        {
            return Invalid($"{path}.parts", "must be an array");
        }

        if (parts.GetArrayLength() == 0)
        {
            return Invalid($"{path}.parts", "must not be empty");
        }

        var items = new List<ContentPart>(parts.GetArrayLength());
        List<ContentPart>? results = null;
        var partIndex = 0;
        foreach (var part in parts.EnumerateArray())
        {
            var partPath = $"{path}.parts[{partIndex}]";
            if (part.ValueKind != JsonValueKind.Object)
            {
                return Invalid(partPath, "must be an object");
            }

            if (part.TryGetProperty("text", out var text))
            {
                if (text.ValueKind != JsonValueKind.String)
                {
                    return Invalid($"{partPath}.text", "must be a string");
                }

                items.Add(GeminiJson.IsTrue(part, "thought")
                    ? new ThinkingPart(text.GetString()!, SignatureOf(part))
                    : new TextPart(text.GetString()!));
            }
            else if (GeminiJson.TryGet(part, "functionCall", "function_call", out var call))
            {
                var error = ReadFunctionCall(call, part, $"{partPath}.functionCall", $"call_{contentIndex}_{partIndex}", isModel ? items : null, pending);
                if (error is not null)
                {
                    return error;
                }
            }
            else if (GeminiJson.TryGet(part, "functionResponse", "function_response", out var response))
            {
                results ??= [];
                var error = ReadFunctionResponse(response, $"{partPath}.functionResponse", $"call_{contentIndex}_{partIndex}", results, pending);
                if (error is not null)
                {
                    return error;
                }
            }
            else
            {
                var error = ReadMedia(part, partPath, out var media);
                if (error is not null)
                {
                    return error;
                }

                // Other parts (executableCode, codeExecutionResult, videoMetadata...) have no canonical form and are dropped.
                if (media is not null)
                {
                    items.Add(media);
                }
            }

            partIndex++;
        }

        // NOTE: results go first: OpenAI and Anthropic require tool results right after the turn that made the calls.
        if (results is not null)
        {
            messages.Add(new ChatMessage(ChatRole.Tool, results));
        }

        if (items.Count > 0)
        {
            messages.Add(new ChatMessage(isModel ? ChatRole.Assistant : ChatRole.User, items));
        }

        return null;
    }

    private static RelayError? ReadFunctionCall(JsonElement call, JsonElement part, string path, string syntheticId, List<ContentPart>? items, List<(string Id, string Name)> pending)
    {
        if (call.ValueKind != JsonValueKind.Object)
        {
            return Invalid(path, "must be an object");
        }

        var name = JsonFields.GetString(call, "name");
        if (string.IsNullOrEmpty(name))
        {
            return Invalid($"{path}.name", "field required");
        }

        var arguments = NoArguments;
        if (GeminiJson.TryGet(call, "args", out var args))
        {
            if (args.ValueKind != JsonValueKind.Object)
            {
                return Invalid($"{path}.args", "must be an object");
            }

            arguments = args.GetRawText();
        }

        // A function call in a user turn has no canonical place; it is dropped like other foreign parts.
        if (items is null)
        {
            return null;
        }

        // NOTE: Gemini 3 requires the call's thought signature back; an empty thinking part carries it across formats.
        if (SignatureOf(part) is { } signature)
        {
            items.Add(new ThinkingPart(string.Empty, signature));
        }

        var id = JsonFields.GetString(call, "id") is { Length: > 0 } given ? given : syntheticId;
        items.Add(new ToolCallPart(id, name, arguments));
        pending.Add((id, name));
        return null;
    }

    /// <summary>
    /// An <c>inlineData</c> or <c>fileData</c> part (of a content, or of a function response's <c>parts</c>) as an image
    /// or a document (<see cref="GeminiWire.Media"/>); <paramref name="media"/> is null for a part that is neither.
    /// </summary>
    private static RelayError? ReadMedia(JsonElement part, string partPath, out ContentPart? media)
    {
        media = null;
        if (GeminiJson.TryGet(part, "inlineData", "inline_data", out var inline))
        {
            var mimeType = inline.ValueKind == JsonValueKind.Object ? GeminiJson.GetString(inline, "mimeType", "mime_type") : null;
            var data = inline.ValueKind == JsonValueKind.Object ? JsonFields.GetString(inline, "data") : null;
            if (mimeType is null)
            {
                return Invalid($"{partPath}.inlineData.mimeType", "field required");
            }

            if (data is null)
            {
                return Invalid($"{partPath}.inlineData.data", "field required");
            }

            media = GeminiWire.Media(mimeType, data, url: null);
        }
        else if (GeminiJson.TryGet(part, "fileData", "file_data", out var file))
        {
            var uri = file.ValueKind == JsonValueKind.Object ? GeminiJson.GetString(file, "fileUri", "file_uri") : null;
            if (uri is null)
            {
                return Invalid($"{partPath}.fileData.fileUri", "field required");
            }

            if (StoredFiles.IsGeminiFile(uri))
            {
                return Invalid($"{partPath}.fileData.fileUri", StoredFiles.OnlyWith(StoredFiles.Gemini, "inlineData"));
            }

            media = GeminiWire.Media(GeminiJson.GetString(file, "mimeType", "mime_type"), data: null, uri);
        }

        return null;
    }

    /// <summary>
    /// A part's thought signature, or null when it has none or only <see cref="GeminiWire.SkipSignatureSentinel"/>:
    /// Gemini CLI puts that placeholder on calls (and synthetic thoughts) no model signed.
    /// </summary>
    /// <remarks>
    /// NOTE: read as a signature, the placeholder became an Anthropic thinking block that Anthropic refuses ("Invalid
    /// signature in thinking block"), and made the turn look signed, so thinking stayed on. A Gemini upstream loses
    /// nothing: the writer puts the placeholder back on unsigned calls.
    /// </remarks>
    private static string? SignatureOf(JsonElement part) =>
        GeminiJson.GetString(part, "thoughtSignature", "thought_signature") is { } signature && signature != GeminiWire.SkipSignatureSentinel
            ? signature
            : null;

    private static RelayError? ReadFunctionResponse(JsonElement response, string path, string syntheticId, List<ContentPart> results, List<(string Id, string Name)> pending)
    {
        if (response.ValueKind != JsonValueKind.Object)
        {
            return Invalid(path, "must be an object");
        }

        var name = JsonFields.GetString(response, "name");
        if (string.IsNullOrEmpty(name))
        {
            return Invalid($"{path}.name", "field required");
        }

        var isError = false;
        var text = NoResponse;
        if (GeminiJson.TryGet(response, "response", out var value))
        {
            if (value.ValueKind != JsonValueKind.Object)
            {
                return Invalid($"{path}.response", "must be an object");
            }

            text = ResultText(value, out isError);
        }

        List<ContentPart> content = [new TextPart(text)];

        // NOTE: images and documents a tool returned can come inside the response, in parts (multimodal function
        // responses, https://ai.google.dev/api/caching#FunctionResponse); Gemini CLI puts a file it read there for Gemini 3.
        if (GeminiJson.TryGet(response, "parts", out var parts))
        {
            if (parts.ValueKind != JsonValueKind.Array)
            {
                return Invalid($"{path}.parts", "must be an array");
            }

            var index = 0;
            foreach (var part in parts.EnumerateArray())
            {
                var partPath = $"{path}.parts[{index}]";
                if (part.ValueKind != JsonValueKind.Object)
                {
                    return Invalid(partPath, "must be an object");
                }

                var error = ReadMedia(part, partPath, out var media);
                if (error is not null)
                {
                    return error;
                }

                if (media is not null)
                {
                    content.Add(media);
                }

                index++;
            }
        }

        var id = Answer(pending, JsonFields.GetString(response, "id"), name) ?? syntheticId;
        results.Add(new ToolResultPart(id, content, isError, name));
        return null;
    }

    /// <summary>
    /// The text of a function response. The writer wraps plain text as <c>{"result": text}</c> and errors as
    /// <c>{"error": text}</c> (the keys Gemini's docs suggest), so those single-key shapes unwrap; anything else stays JSON.
    /// </summary>
    internal static string ResultText(JsonElement response, out bool isError)
    {
        isError = false;
        using var properties = response.EnumerateObject();
        if (!properties.MoveNext())
        {
            return response.GetRawText();
        }

        var first = properties.Current;
        if (properties.MoveNext())
        {
            return response.GetRawText();
        }

        switch (first.Name)
        {
            case "error":
                isError = true;
                return first.Value.ValueKind == JsonValueKind.String ? first.Value.GetString()! : first.Value.GetRawText();
            case "result" or "output" when first.Value.ValueKind == JsonValueKind.String:
                return first.Value.GetString()!;
            default:
                return response.GetRawText();
        }
    }

    /// <summary>The id of the call this response answers: by id when given, else the earliest unanswered call of that name.</summary>
    private static string? Answer(List<(string Id, string Name)> pending, string? id, string name)
    {
        if (!string.IsNullOrEmpty(id))
        {
            for (var i = 0; i < pending.Count; i++)
            {
                if (pending[i].Id == id)
                {
                    pending.RemoveAt(i);
                    break;
                }
            }

            return id;
        }

        for (var i = 0; i < pending.Count; i++)
        {
            if (pending[i].Name == name)
            {
                var match = pending[i].Id;
                pending.RemoveAt(i);
                return match;
            }
        }

        // NOTE: a response to a call outside the conversation (trimmed history) keeps its own id rather than failing;
        // Gemini itself accepts such requests.
        return null;
    }

    private static List<ToolDefinition> ReadTools(JsonElement body, out RelayError? error)
    {
        error = null;
        var definitions = new List<ToolDefinition>();
        if (!GeminiJson.TryGet(body, "tools", out var tools))
        {
            return definitions;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            error = Invalid("tools", "must be an array");
            return definitions;
        }

        var toolIndex = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object)
            {
                error = Invalid($"tools[{toolIndex}]", "must be an object");
                return definitions;
            }

            // Built-in tools (googleSearch, codeExecution, urlContext...) have no canonical form and are dropped.
            if (GeminiJson.TryGet(tool, "functionDeclarations", "function_declarations", out var declarations))
            {
                if (declarations.ValueKind != JsonValueKind.Array)
                {
                    error = Invalid($"tools[{toolIndex}].functionDeclarations", "must be an array");
                    return definitions;
                }

                var declarationIndex = 0;
                foreach (var declaration in declarations.EnumerateArray())
                {
                    var path = $"tools[{toolIndex}].functionDeclarations[{declarationIndex}]";
                    var name = declaration.ValueKind == JsonValueKind.Object ? JsonFields.GetString(declaration, "name") : null;
                    if (string.IsNullOrEmpty(name))
                    {
                        error = Invalid($"{path}.name", "field required");
                        return definitions;
                    }

                    definitions.Add(new ToolDefinition(name, JsonFields.GetString(declaration, "description"), ParametersOf(declaration)));
                    declarationIndex++;
                }
            }

            toolIndex++;
        }

        return definitions;
    }

    /// <summary>A function declaration's parameters as JSON Schema: given as such, converted from Gemini's schema, or none.</summary>
    internal static JsonObject ParametersOf(JsonElement declaration)
    {
        if (GeminiJson.TryGet(declaration, "parametersJsonSchema", "parameters_json_schema", out var jsonSchema))
        {
            // Already JSON Schema.
            return GeminiJson.ToNode(jsonSchema) as JsonObject ?? ToolDefinition.NoParameters();
        }

        return GeminiJson.TryGet(declaration, "parameters", out var schema) ? GeminiSchema.ToJsonSchema(schema) : ToolDefinition.NoParameters();
    }

    private static ToolChoice? ReadToolChoice(JsonElement body, out RelayError? error)
    {
        error = null;
        if (!GeminiJson.TryGet(body, "toolConfig", "tool_config", out var toolConfig)
            || toolConfig.ValueKind != JsonValueKind.Object
            || !GeminiJson.TryGet(toolConfig, "functionCallingConfig", "function_calling_config", out var config)
            || config.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        string? onlyName = null;
        var allowedCount = 0;
        if (GeminiJson.TryGet(config, "allowedFunctionNames", "allowed_function_names", out var allowed) && allowed.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in allowed.EnumerateArray())
            {
                if (name.ValueKind == JsonValueKind.String)
                {
                    onlyName = name.GetString();
                    allowedCount++;
                }
            }
        }

        switch (JsonFields.GetString(config, "mode"))
        {
            case null:
                return null;
            case "AUTO" or "MODE_UNSPECIFIED" or "VALIDATED":
                return new ToolChoice(ToolChoiceKind.Auto);
            case "NONE":
                return new ToolChoice(ToolChoiceKind.None);
            case "ANY":
                // NOTE: ANY with several allowed names has no canonical form; it widens to "some tool".
                return allowedCount == 1 ? new ToolChoice(ToolChoiceKind.Tool, onlyName) : new ToolChoice(ToolChoiceKind.Required);
            default:
                error = Invalid("toolConfig.functionCallingConfig.mode", "must be one of AUTO, ANY, NONE, VALIDATED");
                return null;
        }
    }

    /// <summary>
    /// JSON output: <c>responseMimeType: application/json</c>, with a schema given as JSON Schema
    /// (<c>responseJsonSchema</c>) or as Gemini's OpenAPI subset (<c>responseSchema</c>, converted the way tool parameters
    /// are). Other MIME types (<c>text/x.enum</c>) have no canonical form and read as plain text.
    /// </summary>
    private static OutputFormat? ReadOutputFormat(JsonElement config)
    {
        if (GeminiJson.GetString(config, "responseMimeType", "response_mime_type") != "application/json")
        {
            return null;
        }

        JsonObject? schema = null;
        if (GeminiJson.TryGet(config, "responseJsonSchema", "response_json_schema", out var jsonSchema) && jsonSchema.ValueKind == JsonValueKind.Object)
        {
            schema = GeminiJson.ToNode(jsonSchema) as JsonObject;
        }
        else if (GeminiJson.TryGet(config, "responseSchema", "response_schema", out var openApiSchema) && openApiSchema.ValueKind == JsonValueKind.Object)
        {
            schema = GeminiSchema.ToJsonSchema(openApiSchema);
        }

        // NOTE: Gemini names no schema and is not strict unless told; OpenAI needs a name, so one is made up.
        return schema is null ? OutputFormat.AnyJson : new OutputFormat(OutputFormatKind.JsonSchema, OpenAIOutputFormat.DefaultName, schema);
    }

    /// <summary>
    /// <c>thinkingConfig</c> (https://ai.google.dev/gemini-api/docs/thinking): Gemini 2.5's <c>thinkingBudget</c> (0 off,
    /// -1 the model decides) or Gemini 3's <c>thinkingLevel</c> (Google refuses both together), and <c>includeThoughts</c>.
    /// </summary>
    private static RelayError? ReadThinkingConfig(JsonElement config, out Reasoning? reasoning)
    {
        reasoning = null;
        const string path = "generationConfig.thinkingConfig";
        if (!GeminiJson.TryGet(config, "thinkingConfig", "thinking_config", out var thinking))
        {
            return null;
        }

        if (thinking.ValueKind != JsonValueKind.Object)
        {
            return Invalid(path, "must be an object");
        }

        int? budget = null;
        if (GeminiJson.TryGet(thinking, "thinkingBudget", "thinking_budget", out var budgetElement))
        {
            if (budgetElement.ValueKind != JsonValueKind.Number || !budgetElement.TryGetInt32(out var tokens) || tokens < -1)
            {
                return Invalid($"{path}.thinkingBudget", "must be an integer of at least -1");
            }

            budget = tokens;
        }

        ReasoningEffort? level = null;
        if (GeminiJson.TryGet(thinking, "thinkingLevel", "thinking_level", out var levelElement))
        {
            // NOTE: proto3 JSON writes enums in capitals (LOW), Google's samples in lower case (low); both are accepted.
            level = levelElement.ValueKind != JsonValueKind.String ? null : levelElement.GetString()!.ToLowerInvariant() switch
            {
                "minimal" => ReasoningEffort.Minimal,
                "low" => ReasoningEffort.Low,
                "medium" => ReasoningEffort.Medium,
                "high" => ReasoningEffort.High,
                _ => null,
            };
            if (level is null)
            {
                return Invalid($"{path}.thinkingLevel", "must be one of minimal, low, medium, high");
            }

            if (budget is not null)
            {
                return Invalid(path, "thinkingBudget and thinkingLevel cannot both be set");
            }
        }

        bool? includeThoughts = null;
        if (GeminiJson.TryGet(thinking, "includeThoughts", "include_thoughts", out var includeElement))
        {
            if (includeElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return Invalid($"{path}.includeThoughts", "must be a boolean");
            }

            includeThoughts = includeElement.GetBoolean();
        }

        reasoning = budget switch
        {
            0 => Reasoning.Disabled with { IncludeThoughts = includeThoughts },
            > 0 => new Reasoning(BudgetTokens: budget, IncludeThoughts: includeThoughts),
            _ when level is not null || includeThoughts is not null || budget == -1 => new Reasoning(level, IncludeThoughts: includeThoughts),
            _ => null,
        };
        return null;
    }

    private static RelayError? ReadNumber(JsonElement config, string camel, string snake, out double? value)
    {
        value = null;
        return GeminiJson.TryGet(config, camel, snake, out var element) ? JsonFields.Number(element, $"generationConfig.{camel}", out value) : null;
    }

    private static RelayError? ReadInteger(JsonElement config, string camel, string snake, out int? value)
    {
        value = null;
        return GeminiJson.TryGet(config, camel, snake, out var element) ? JsonFields.PositiveInt(element, $"generationConfig.{camel}", out value) : null;
    }

    private static RelayError? ReadStopSequences(JsonElement config, out IReadOnlyList<string> value)
    {
        value = [];
        return GeminiJson.TryGet(config, "stopSequences", "stop_sequences", out var element)
            ? JsonFields.StopSequences(element, "generationConfig.stopSequences", out value)
            : null;
    }

    private static RelayError Invalid(string field, string problem) => RelayError.Invalid($"{field}: {problem}", field);
}
