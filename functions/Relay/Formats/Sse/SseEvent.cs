using System.Text;

namespace Serverless.Relay.Formats.Sse;

/// <summary>One server-sent event as received: the optional <c>event:</c> name and the joined <c>data:</c> lines, as UTF-8.</summary>
/// <remarks>
/// The data of an event from <see cref="SseReader"/> lies in the reader's buffer and is valid until its next read: a
/// decoder parses it in place, so no event is ever copied into a .NET string.
/// </remarks>
internal readonly record struct SseEvent(string? Event, ReadOnlyMemory<byte> Data)
{
    /// <summary>An event whose data is given as text (built in code).</summary>
    public SseEvent(string? name, string data)
        : this(name, Encoding.UTF8.GetBytes(data))
    {
    }

    /// <summary>The data without the whitespace around it.</summary>
    public ReadOnlySpan<byte> TrimmedData => Data.Span.Trim(" \t\r\n"u8);

    /// <summary>Whether the data is empty or whitespace only (nothing to decode).</summary>
    public bool IsBlank => TrimmedData.IsEmpty;

    /// <summary>The data as text (invalid bytes as U+FFFD).</summary>
    public string Text => Encoding.UTF8.GetString(Data.Span);
}
