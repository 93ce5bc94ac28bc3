namespace Serverless.Relay.Formats.Json;

/// <summary>
/// How the relay tells OpenAI's model families apart by name, for what they refuse (<see cref="OpenAIReasoning"/>)
/// and how much they write (<see cref="OpenAIOutputLimit"/>): one reading of a name for both.
/// </summary>
internal static class OpenAIModelName
{
    /// <summary>The name without a router's prefix: <c>openai/gpt-5</c> is <c>gpt-5</c>.</summary>
    public static ReadOnlySpan<char> Bare(string upstreamModel) => upstreamModel.AsSpan(upstreamModel.LastIndexOf('/') + 1);

    /// <summary>The o-series reasoning models: o1, o3, o4-mini and their snapshots.</summary>
    public static bool IsOSeries(ReadOnlySpan<char> name) => name.Length > 1 && name[0] is 'o' or 'O' && name[1] is '1' or '3' or '4';

    /// <summary>GPT-5 and its successors (gpt-5.1, gpt-5-mini); <paramref name="chat"/> for <c>gpt-5-chat</c>, which is not a reasoning model.</summary>
    public static bool IsGpt5(ReadOnlySpan<char> name, out bool chat)
    {
        var gpt5 = name.StartsWith("gpt-5", StringComparison.OrdinalIgnoreCase);
        chat = gpt5 && name.Contains("-chat", StringComparison.OrdinalIgnoreCase);
        return gpt5;
    }
}
