namespace Serverless.Relay.Formats;

/// <summary>
/// <c>data:&lt;mime&gt;[;param=value]*;base64,&lt;data&gt;</c> URLs: how OpenAI formats carry inline images, and how
/// formats that only take URLs are handed inline data.
/// </summary>
internal static class DataUrl
{
    private const string Prefix = "data:";
    private const string Base64Marker = ";base64";

    /// <summary>Splits a base64 data URL; false for any other URL (which is then an ordinary image URL).</summary>
    public static bool TryParse(string url, out string mediaType, out string data)
    {
        mediaType = string.Empty;
        data = string.Empty;
        if (!url.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var comma = url.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            return false;
        }

        var header = url.AsSpan(Prefix.Length, comma - Prefix.Length);
        if (!header.EndsWith(Base64Marker, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // The media type ends at the first ';' (parameters such as charset may follow it).
        var end = header.IndexOf(';');
        if (end <= 0)
        {
            return false;
        }

        mediaType = header[..end].ToString();
        data = url[(comma + 1)..];
        return true;
    }

    public static string Of(string? mediaType, string? data) =>
        string.Concat(Prefix, mediaType ?? "application/octet-stream", Base64Marker, ",", data);
}
