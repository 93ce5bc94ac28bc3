namespace Serverless.Webhooks.Processing;

/// <summary>What the user reads when there is no answer to give: short, and never an internal detail or a secret.</summary>
internal static class ImNotices
{
    public const string NewConversation = "Started a new conversation.";
    public const string EmptyAnswer = "(The model returned an empty answer.)";
    public const string UpstreamFailed = "Sorry, the model could not answer just now. Please try again in a moment.";
    public const string Unavailable = "Sorry, this bot is not available right now.";
    /// <summary>Ends an answer too long for one reply message: what came before it is all the user gets.</summary>
    public const string Cut = "\n\n(The answer was cut here: it is longer than a reply can carry.)";

    public const string TimedOut = "Sorry, this message timed out before it could be answered. Please send it again.";

    /// <summary>A limit, quota or budget refused the request: the relay's own message says which and when it resets.</summary>
    public static string Refused(string? why) =>
        string.IsNullOrWhiteSpace(why) ? "Sorry, this request was refused." : "Sorry, I can't answer right now: " + why;
}

/// <summary>Chat commands the bot understands itself.</summary>
internal static class ImCommands
{
    /// <summary><c>/new</c> or <c>/reset</c> (Telegram may append <c>@botname</c>) start a fresh conversation.</summary>
    public static bool IsReset(string text)
    {
        var command = text.Trim();
        var at = command.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            command = command[..at];
        }

        return command.Equals("/new", StringComparison.OrdinalIgnoreCase) || command.Equals("/reset", StringComparison.OrdinalIgnoreCase);
    }
}
