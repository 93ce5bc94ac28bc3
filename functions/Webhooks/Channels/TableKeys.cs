using System.Globalization;
using System.Text;

namespace Serverless.Webhooks.Channels;

/// <summary>
/// Platform ids (chat ids, DingTalk's base64 msgId, Slack's thread timestamps) as Table keys. Keys may not hold '/',
/// '\', '#', '?' or control characters; those, and '%' itself, become <c>%XX</c>, so the mapping stays one-to-one (two
/// chats never share a partition) and ordinary ids stay readable in Storage Explorer.
/// </summary>
internal static class TableKeys
{
    private static readonly System.Buffers.SearchValues<char> Escaped = System.Buffers.SearchValues.Create("/\\#?%");

    public static string Escape(string value)
    {
        if (value.Length > 0 && value.AsSpan().IndexOfAny(Escaped) < 0 && !value.Any(char.IsControl))
        {
            return value;
        }

        if (value.Length == 0)
        {
            return "%"; // a bare '%' never comes out of an escape otherwise, so empty stays distinct
        }

        var builder = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (Escaped.Contains(c) || char.IsControl(c))
            {
                builder.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
