using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Json;

/// <summary>What every format's in-place prompt tally (<see cref="IChatFormat.TryTallyPrompt"/>) reads the same way.</summary>
internal static class PromptTallyFields
{
    /// <summary>Adds the string property <paramref name="name"/> of <paramref name="obj"/>; false when it is absent or not a string.</summary>
    public static bool TryAddText(this IPromptTally to, JsonElement obj, ReadOnlySpan<byte> name)
    {
        if (!JsonFields.TryGetString(obj, name, out var text))
        {
            return false;
        }

        to.AddText(text);
        return true;
    }

    /// <summary>
    /// Adds a function's optional parameter schema <paramref name="name"/> as the canonical request holds it: the
    /// schema as its node writes it, or <see cref="ToolDefinition.NoParametersJson"/> when there is none; false when
    /// it is not an object.
    /// </summary>
    public static bool TryAddParameters(this IPromptTally to, JsonElement function, ReadOnlySpan<byte> name)
    {
        if (!JsonFields.TryGetPresent(function, name, out var parameters))
        {
            to.AddText(ToolDefinition.NoParametersJson);
            return true;
        }

        if (parameters.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        to.AddText(JsonObject.Create(parameters)!.ToJsonString());
        return true;
    }

    /// <summary>
    /// Tallies each item of the optional array property <paramref name="name"/> with <paramref name="item"/>: true when
    /// the property is absent (or null), false when it is not an array or an item does not read.
    /// </summary>
    public static bool TryEach(this IPromptTally to, JsonElement obj, ReadOnlySpan<byte> name, Func<JsonElement, IPromptTally, bool> item)
    {
        if (!JsonFields.TryGetPresent(obj, name, out var array))
        {
            return true;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var element in array.EnumerateArray())
        {
            if (!item(element, to))
            {
                return false;
            }
        }

        return true;
    }
}
