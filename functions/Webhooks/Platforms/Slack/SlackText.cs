namespace Serverless.Webhooks.Platforms.Slack;

/// <summary>
/// Slack's three control characters (<see href="https://api.slack.com/reference/surfaces/formatting#escaping"/>):
/// <c>&amp;</c>, <c>&lt;</c> and <c>&gt;</c> are HTML entities in message text, both ways. Only these three: Slack
/// decodes no other entity.
/// </summary>
internal static class SlackText
{
    /// <summary>
    /// The text as chat.postMessage must get it. NOTE: unescaped, a model's <c>&lt;!channel&gt;</c> would notify the
    /// whole channel and <c>List&lt;T&gt;</c> would be read as a link and lose its angle brackets.
    /// </summary>
    public static string Escape(string text) => text.AsSpan().IndexOfAny('&', '<', '>') < 0
        ? text
        : text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>An event's text as the user typed it (Slack sends it escaped); <c>&amp;amp;</c> last, so <c>&amp;amp;lt;</c> stays <c>&amp;lt;</c>.</summary>
    public static string Unescape(string text) => !text.Contains('&', StringComparison.Ordinal)
        ? text
        : text.Replace("&lt;", "<", StringComparison.Ordinal).Replace("&gt;", ">", StringComparison.Ordinal).Replace("&amp;", "&", StringComparison.Ordinal);
}
