using System.Text.Json;

namespace Serverless.Relay.Canonical;

/// <summary>
/// Where a format puts the text that identifies a conversation, read in place from a request's body: every part of the
/// system prompt, then the text parts of the first user message. It is the text a sticky session derived from the
/// prompt hashes, the same that <see cref="ChatRequest.System"/> and the first user message of the canonical request
/// hold, found without building that request.
/// </summary>
internal interface IConversationStart
{
    /// <summary>A string element holding one part of the system prompt; every one comes before the first user text.</summary>
    void AddSystem(JsonElement text);

    /// <summary>A string element holding one text part of the first user message.</summary>
    void AddUser(JsonElement text);
}
