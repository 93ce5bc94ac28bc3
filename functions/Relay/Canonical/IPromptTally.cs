using System.Text.Json;

namespace Serverless.Relay.Canonical;

/// <summary>
/// Where a request's prompt is handed, part by part, to estimate its tokens for a token limit: the texts the canonical
/// request holds (each system part; each tool's name, description and parameters as JSON; each message's text, tool
/// call names and arguments, tool results and thinking), one mark per message, one per image and one per document. Counting the canonical
/// request (<c>TokenEstimator.Count</c>) hands over exactly these; a format that reads them in place from a client's
/// body (<c>IChatFormat.TryTallyPrompt</c>) must hand over the same, so both give one count.
/// </summary>
internal interface IPromptTally
{
    /// <summary>One text, as the canonical request holds it.</summary>
    void AddText(string text);

    /// <summary>One text, a string element read in place (and known to be readable text).</summary>
    void AddText(JsonElement text);

    /// <summary>One message of <see cref="ChatRequest.Messages"/>; system parts are not messages.</summary>
    void AddMessage();

    /// <summary>One image, whose size is not known without decoding it.</summary>
    void AddImage();

    /// <summary>One document (<see cref="DocumentPart"/>), whose pages are not known without parsing it.</summary>
    void AddDocument();
}
