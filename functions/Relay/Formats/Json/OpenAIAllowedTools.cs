using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// OpenAI's <c>allowed_tools</c> choice, the same in both of its APIs but for where it sits and how a listed tool names
/// itself: Chat Completions' <c>{"type":"allowed_tools","allowed_tools":{"mode":…,"tools":[{"type":"function","function":{"name":…}}]}}</c>,
/// Responses' <c>{"type":"allowed_tools","mode":…,"tools":[{"type":"function","name":…}]}</c>. The model may call only
/// the listed tools, and must call one of them when the mode is <c>required</c>; canonically, only those are offered.
/// </summary>
internal static class OpenAIAllowedTools
{
    /// <summary>
    /// The name of a listed tool the canonical request can hold; <paramref name="name"/> is null for another kind (a
    /// built-in tool), which is skipped. An error when the tool is of a kind that needs a name and has none.
    /// </summary>
    public delegate RelayError? ToolName(JsonElement tool, string path, out string? name);

    /// <param name="allowed">The object holding <c>mode</c> and <c>tools</c>.</param>
    /// <param name="path">Its path in the body, for errors.</param>
    /// <param name="param">The error's <c>param</c> for a field at a path (the two APIs name them differently).</param>
    /// <param name="names">The names of the tools the model may call.</param>
    public static ToolChoice? Read(JsonElement allowed, string path, Func<string, string> param, ToolName nameOf, out HashSet<string>? names, out RelayError? error)
    {
        names = null;
        error = null;
        ToolChoiceKind kind;
        if (JsonFields.TryGetPresent(allowed, "mode", out var mode) && JsonFields.IsText(mode, "auto"u8))
        {
            kind = ToolChoiceKind.Auto;
        }
        else if (JsonFields.IsText(mode, "required"u8))
        {
            kind = ToolChoiceKind.Required;
        }
        else
        {
            error = RelayError.Invalid($"{path}.mode: must be one of auto, required", param($"{path}.mode"));
            return null;
        }

        if (!JsonFields.TryGetPresent(allowed, "tools", out var tools) || tools.ValueKind != JsonValueKind.Array)
        {
            error = RelayError.Invalid($"{path}.tools: must be an array", param($"{path}.tools"));
            return null;
        }

        var listed = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var toolPath = $"{path}.tools[{index}]";
            index++;
            if (tool.ValueKind != JsonValueKind.Object)
            {
                error = RelayError.Invalid($"{toolPath}: must be an object", param(toolPath));
                return null;
            }

            error = nameOf(tool, toolPath, out var name);
            if (error is not null)
            {
                return null;
            }

            if (name is not null)
            {
                listed.Add(name);
            }
        }

        names = listed;
        return new ToolChoice(kind);
    }

    /// <summary>
    /// Leaves in <paramref name="tools"/> only those an <c>allowed_tools</c> choice listed (<paramref name="names"/>;
    /// null for any other choice, which leaves them all). The client keeps the whole list in its request so the prompt
    /// cache's prefix stays put; canonically, only what the model may call is offered.
    /// </summary>
    public static void Restrict(List<ToolDefinition> tools, HashSet<string>? names)
    {
        if (names is not null)
        {
            tools.RemoveAll(tool => !names.Contains(tool.Name));
        }
    }
}
