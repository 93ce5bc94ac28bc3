namespace Serverless.Relay.Relaying;

/// <summary>Fixed bounds of the relay; the reasons are in the comments.</summary>
internal static class RelayLimits
{
    /// <summary>Large enough for a few base64 images; Anthropic's own request limit is 32 MB.</summary>
    public const long MaxRequestBodyBytes = 32 * 1024 * 1024;

    /// <summary>An upstream error body is read only this far: it is for a message, never relayed in bulk.</summary>
    public const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>
    /// A non-streamed same-format answer is read this far before its first byte is sent: an answer this size or smaller
    /// (nearly all) is read whole inside the attempt, where an upstream that breaks off can still be failed over; a
    /// longer one goes to the client as it arrives rather than held whole.
    /// </summary>
    public const int AnswerHeadBytes = 64 * 1024;
}
