using System.Text.Json;
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
}
