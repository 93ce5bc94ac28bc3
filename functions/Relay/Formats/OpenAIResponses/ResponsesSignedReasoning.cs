using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Runtime.InteropServices;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>
/// A reasoning item's <c>encrypted_content</c> for thinking another provider signed (Claude's thinking signature,
/// Gemini's thought signature): a tag naming that provider, then the signature as it gave it. A client sends
/// the item back in its next input (Codex always does, with <c>store: false</c>), and the signature goes back to an
/// upstream of that format, which needs it to go on thinking after a tool call. Nothing in it is secret: the signature
/// is the provider's own opaque token, which an Anthropic or Gemini client holds as it is.
/// </summary>
/// <remarks>
/// NOTE: the content is written whether or not the client listed <c>reasoning.encrypted_content</c> in
/// <c>include</c>, as OpenAI now does ("populated by default for reasoning items returned by POST /v1/responses",
/// openai-python's <c>ResponseReasoningItem.encrypted_content</c>): a client that replays its output items (the Agents
/// SDK) keeps the thinking too.
/// </remarks>
internal static class ResponsesSignedReasoning
{
    private const string AnthropicTag = "relay:anthropic:";
    private const string GeminiTag = "relay:gemini:";

    /// <summary>The <c>encrypted_content</c> for <paramref name="signature"/>; null when there is none or its maker is not known.</summary>
    public static string? EncryptedContent(string? signature, ThinkingSigner? signedBy) => signature is null ? null : signedBy switch
    {
        ThinkingSigner.Anthropic => AnthropicTag + signature,
        ThinkingSigner.Gemini => GeminiTag + signature,
        _ => null,
    };

    /// <summary>
    /// The thinking of a reasoning input item whose <c>encrypted_content</c> this relay wrote: its summary text and
    /// the signature with its maker. False for any other item, such as one with OpenAI's own encrypted reasoning.
    /// </summary>
    public static bool TryRead(JsonElement item, [NotNullWhen(true)] out ThinkingPart? thinking)
    {
        thinking = null;
        if (!TryGetTagged(item, out var encrypted) || encrypted.GetString() is not { } content)
        {
            return false;
        }

        ThinkingSigner signedBy;
        string signature;
        if (content.StartsWith(AnthropicTag, StringComparison.Ordinal))
        {
            (signedBy, signature) = (ThinkingSigner.Anthropic, content[AnthropicTag.Length..]);
        }
        else if (content.StartsWith(GeminiTag, StringComparison.Ordinal))
        {
            (signedBy, signature) = (ThinkingSigner.Gemini, content[GeminiTag.Length..]);
        }
        else
        {
            return false;
        }

        thinking = new ThinkingPart(SummaryText(item), signature, signedBy);
        return true;
    }

    /// <summary>
    /// The positions in <paramref name="body"/>'s <c>input</c> of reasoning items whose <c>encrypted_content</c> this
    /// relay wrote, or null when there are none (nearly always). OpenAI refuses such an item (it cannot decrypt the
    /// content), so a body passed through as sent to an upstream that speaks Responses goes without them.
    /// </summary>
    public static List<int>? TaggedInputItems(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("input"u8, out var input) || input.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        List<int>? tagged = null;
        var index = 0;
        foreach (var item in input.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object && JsonFields.TryGetPresent(item, "type"u8, out var type)
                && JsonFields.IsText(type, "reasoning"u8) && TryGetTagged(item, out _))
            {
                (tagged ??= []).Add(index);
            }

            index++;
        }

        return tagged;
    }

    /// <summary>The item's <c>encrypted_content</c> when it carries the relay's tag; false for OpenAI's own.</summary>
    /// <remarks>
    /// NOTE: OpenAI's own encrypted reasoning is several kilobytes an item, and a client sends every item back each
    /// turn: the tag is looked for in the raw bytes (after the opening quote) before any string is made.
    /// </remarks>
    private static bool TryGetTagged(JsonElement item, out JsonElement encrypted) =>
        JsonFields.TryGetString(item, "encrypted_content"u8, out encrypted)
        && JsonMarshal.GetRawUtf8Value(encrypted)[1..].StartsWith("relay:"u8);

    /// <summary>
    /// The summary's text: the thinking as the relay wrote it, in one part (<see cref="ResponsesWire.WriteReasoningItem"/>),
    /// which its signature covers; parts a client split it into are joined back.
    /// </summary>
    private static string SummaryText(JsonElement item) =>
        JsonFields.TryGetPresent(item, "summary", out var summary) && summary.ValueKind == JsonValueKind.Array
            ? string.Concat(summary.EnumerateArray().Select(part => JsonFields.GetString(part, "text")))
            : string.Empty;
}
