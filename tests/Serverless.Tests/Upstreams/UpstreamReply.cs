using System.Text.RegularExpressions;

namespace Serverless.Tests.Upstreams;

/// <summary>What a fake read out of a request, format-neutral, for <see cref="ReplyRule"/>.</summary>
internal sealed record ConversationFacts
{
    public string? SystemText { get; init; }

    /// <summary>Text parts of the last user message, joined with a space.</summary>
    public string LastUserText { get; init; } = "";

    /// <summary>Per image of the last user message: <c>base64 &lt;mime&gt; &lt;bytes&gt;</c> or <c>url &lt;url&gt;</c>.</summary>
    public IReadOnlyList<string> Images { get; init; } = [];

    /// <summary>Set when the conversation ends with a tool result: that result's text.</summary>
    public string? ToolResult { get; init; }

    public string? FirstToolName { get; init; }

    public long? MaxTokens { get; init; }
}

/// <summary>The fake model's answer: either text (maybe truncated by a one-token limit) or one tool call.</summary>
internal sealed partial record UpstreamReply(string? Text, string? ToolName, bool Truncated)
{
    public const string ToolArguments = """{"city":"Paris"}""";

    /// <summary>The arguments in two fragments, so clients must join streamed pieces.</summary>
    public static readonly IReadOnlyList<string> ToolArgumentFragments = ["""{"city":""", "\"Paris\"}"];

    public bool IsToolCall => ToolName is not null;

    /// <summary>One delta per word, each with its trailing whitespace; concatenated they give <see cref="Text"/>.</summary>
    public IReadOnlyList<string> Deltas => Text is null ? [] : Words(Text);

    public static IReadOnlyList<string> Words(string text)
    {
        var words = WordWithTrailingSpace().Matches(text).Select(m => m.Value).ToList();
        return words.Count == 0 ? [text] : words;
    }

    [GeneratedRegex(@"^\s+|\S+\s*")]
    private static partial Regex WordWithTrailingSpace();
}

/// <summary>The deterministic reply rule every fake shares, so tests can assert end to end through the relay.</summary>
internal static class ReplyRule
{
    public static UpstreamReply Decide(ConversationFacts facts, UpstreamScript script)
    {
        if (script.ReplyWords > 0)
        {
            return new(string.Join(' ', Enumerable.Range(1, script.ReplyWords).Select(i => "w" + i)), null, false);
        }

        string text;
        if (facts.ToolResult is not null)
        {
            text = "Tool said: " + facts.ToolResult;
        }
        else if (facts.FirstToolName is not null && facts.LastUserText.Contains("weather", StringComparison.OrdinalIgnoreCase))
        {
            return new(null, facts.FirstToolName, false);
        }
        else
        {
            text = "You said: " + facts.LastUserText;
            if (facts.Images.Count > 0)
            {
                text += $" [images: {facts.Images.Count}; {string.Join(", ", facts.Images)}]";
            }
        }

        if (facts.SystemText is { } system)
        {
            text = $"[sys:{system[..Math.Min(20, system.Length)]}] {text}";
        }

        return facts.MaxTokens == 1
            ? new(UpstreamReply.Words(text)[0].TrimEnd(), null, true)
            : new(text, null, false);
    }

    /// <summary>Describes a base64 image the way the reply rule reports it.</summary>
    public static string Base64Image(string? mediaType, string data)
    {
        var buffer = new byte[data.Length];
        var size = Convert.TryFromBase64String(data, buffer, out var written) ? written.ToString(System.Globalization.CultureInfo.InvariantCulture) : "invalid";
        return $"base64 {mediaType} {size}";
    }

    /// <summary>Describes an image given as a URL; a <c>data:</c> URL counts as base64.</summary>
    public static string UrlImage(string url)
    {
        // data:<mime>;base64,<data>
        if (url.StartsWith("data:", StringComparison.Ordinal))
        {
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var semicolon = url.IndexOf(';', StringComparison.Ordinal);
            if (comma > 0 && semicolon > 0 && semicolon < comma)
            {
                return Base64Image(url[5..semicolon], url[(comma + 1)..]);
            }
        }

        return "url " + url;
    }
}
