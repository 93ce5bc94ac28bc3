namespace Serverless.Bench;

/// <summary>What one server-sent event of an OpenAI chat stream is.</summary>
internal enum SseKind
{
    Content,
    Usage,
    Done,
    Other,
}

/// <summary>
/// Splits a byte stream into SSE events as the bytes arrive, remembering which read completed each event, so that
/// two events delivered in one read (merged by a gateway that buffers) can be told apart from events sent one by one.
/// </summary>
internal sealed class SseSplitter
{
    private readonly List<byte> _pending = [];

    /// <summary>Adds a read; returns the events it completed.</summary>
    public List<SseKind> Add(ReadOnlySpan<byte> read)
    {
        var events = new List<SseKind>();
        foreach (var b in read)
        {
            if (b == (byte)'\r')
            {
                continue;
            }

            _pending.Add(b);
            var n = _pending.Count;
            if (b == (byte)'\n' && n >= 2 && _pending[n - 2] == (byte)'\n')
            {
                var text = System.Text.Encoding.UTF8.GetString([.. _pending]);
                _pending.Clear();
                events.Add(Classify(text));
            }
        }

        return events;
    }

    private static SseKind Classify(string text)
    {
        var data = string.Join('\n', text.Split('\n')
            .Where(l => l.StartsWith("data:", StringComparison.Ordinal))
            .Select(l => l[5..].TrimStart()));
        if (data.Length == 0)
        {
            return SseKind.Other;
        }

        if (data == "[DONE]")
        {
            return SseKind.Done;
        }

        if (data.Contains("\"delta\"", StringComparison.Ordinal))
        {
            return SseKind.Content;
        }

        return data.Contains("\"usage\":{", StringComparison.Ordinal) ? SseKind.Usage : SseKind.Other;
    }
}
