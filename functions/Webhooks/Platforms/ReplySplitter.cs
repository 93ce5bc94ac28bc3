namespace Serverless.Webhooks.Platforms;

/// <summary>
/// Splits a reply into parts a platform accepts: each part measures at most the limit as the platform measures it
/// (characters, or UTF-8 bytes for WeCom), parts keep the text's order, and a cut prefers a paragraph break, then a
/// line break, then the end of a sentence, then a space; only text with none of those is cut mid-word. A cut never
/// falls inside a surrogate pair, so no part holds half a character (and its UTF-8 is whole).
/// </summary>
internal static class ReplySplitter
{
    private static readonly string[] SentenceEnds = [". ", "! ", "? ", "。", "！", "？", "; "];

    /// <summary>The parts, in order; none for text that is empty or only whitespace.</summary>
    /// <param name="measure">How the platform measures a text; must grow with the text (a prefix never measures more).</param>
    public static IReadOnlyList<string> Split(string text, int maxLength, Func<string, int> measure)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 4);
        var parts = new List<string>();
        var rest = text.Trim();
        while (rest.Length > 0)
        {
            if (measure(rest) <= maxLength)
            {
                parts.Add(rest);
                break;
            }

            var fit = LongestFit(rest, maxLength, prefix => measure(prefix) <= maxLength);
            // A limit smaller than one whole character still makes progress: one character per part.
            var cut = CutAt(rest, fit > 0 ? fit : char.IsHighSurrogate(rest[0]) && rest.Length > 1 ? 2 : 1);
            var part = rest[..cut].TrimEnd();
            if (part.Length > 0)
            {
                parts.Add(part);
            }

            rest = rest[cut..].TrimStart();
        }

        return parts;
    }

    /// <summary>
    /// The longest head of <paramref name="text"/> that <paramref name="fits"/> takes, cut as <see cref="Split"/> cuts
    /// (at the best boundary in its later half): the whole text when it fits, empty when not one character does.
    /// </summary>
    /// <param name="fits">Whether a head is taken; must hold for every shorter head of one it holds for.</param>
    public static string Head(string text, Func<string, bool> fits)
    {
        var fit = LongestFit(text, text.Length, fits);
        return fit == text.Length ? text : text[..CutAt(text, fit)].TrimEnd();
    }

    /// <summary>
    /// The most leading chars (at most <paramref name="maxChars"/>) that fit, never ending between the halves of a
    /// surrogate pair; 0 when none does.
    /// </summary>
    private static int LongestFit(string text, int maxChars, Func<string, bool> fits)
    {
        // Binary search: what fits grows with the prefix, whatever unit it is measured in.
        int low = 1, high = Math.Min(text.Length, maxChars);
        var fit = 0;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            if (fits(text[..EndOnWholeChar(text, middle)]))
            {
                fit = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return EndOnWholeChar(text, fit);
    }

    private static int EndOnWholeChar(string text, int length) =>
        length > 0 && length < text.Length && char.IsHighSurrogate(text[length - 1]) ? length - 1 : length;

    /// <summary>Where to cut inside the first <paramref name="fit"/> chars: the best boundary in the later half, else the fit itself.</summary>
    private static int CutAt(string text, int fit)
    {
        var window = text.AsSpan(0, fit);
        var floor = fit / 2;

        var paragraph = window.LastIndexOf("\n\n");
        if (paragraph >= floor)
        {
            return paragraph + 2;
        }

        var line = window.LastIndexOf('\n');
        if (line >= floor)
        {
            return line + 1;
        }

        var sentence = -1;
        foreach (var end in SentenceEnds)
        {
            var at = window.LastIndexOf(end.AsSpan());
            if (at >= 0)
            {
                sentence = Math.Max(sentence, at + end.Length);
            }
        }

        if (sentence >= floor && sentence <= fit)
        {
            return sentence;
        }

        var space = window.LastIndexOf(' ');
        return space > 0 ? space + 1 : fit;
    }
}
