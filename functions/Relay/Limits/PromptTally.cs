using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Limits;

/// <summary>Adds up one prompt's estimated tokens (<see cref="TokenEstimator"/>); one per count, not shared.</summary>
internal sealed class PromptTally(TokenEstimator estimator) : IPromptTally
{
    // Per-request and per-message framing (role markers), as OpenAI documents for its chat format.
    private const int PerRequest = 3;
    private const int PerMessage = 3;

    // An image's size is unknown without decoding it; this is Anthropic's figure for a ~1.15 megapixel image.
    private const int PerImage = 1600;

    // NOTE: a document counts as one page, read both ways Anthropic and OpenAI read a PDF's page: as text (up to about
    // 1,500 tokens) and as an image of itself. Not its base64 as text, which would count a page several times over, and
    // not by its size, which says little of its pages (a scan is large, a text PDF small). The window is charged the
    // upstream's own count when the answer comes.
    private const int PerDocument = 2 * PerImage;

    public int Total { get; private set; } = PerRequest;

    public void AddText(string text) => Total += estimator.CountText(text);

    public void AddText(JsonElement text)
    {
        // NOTE: decoded into a rented buffer, not a string: the cache finds a long text by its characters, and a short one
        // is counted from them, so a prompt read in place allocates nothing per text.
        var raw = JsonMarshal.GetRawUtf8Value(text);
        var chars = ArrayPool<char>.Shared.Rent(raw.Length);
        try
        {
            var reader = new Utf8JsonReader(raw);
            reader.Read();
            var length = reader.CopyString(chars);
            Total += estimator.CountText(chars.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    public void AddMessage() => Total += PerMessage;

    public void AddImage() => Total += PerImage;

    public void AddDocument() => Total += PerDocument;
}
