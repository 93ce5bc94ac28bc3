namespace Serverless.Relay.Relaying;

/// <summary>Fixed bounds of the relay; the reasons are in the comments.</summary>
internal static class RelayLimits
{
    /// <summary>Large enough for a few base64 images; Anthropic's own request limit is 32 MB.</summary>
    public const long MaxRequestBodyBytes = 32 * 1024 * 1024;

    /// <summary>An upstream error body is read only this far: it is for a message, never relayed in bulk.</summary>
    public const int MaxErrorBodyBytes = 64 * 1024;
}
