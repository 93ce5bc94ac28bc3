using System.Buffers;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Gemini's <c>streamGenerateContent</c> without <c>alt=sse</c> streams one JSON array whose elements arrive as they
/// are produced: <c>[{…}</c>, <c>,\r\n{…}</c>, …, <c>]</c>. Encoders and same-format upstream frames are SSE; this takes
/// those frames (and a JSON line outside any frame) and moves each one's data to the output as the next array element,
/// so both paths share one framing.
/// </summary>
internal sealed class JsonArrayFraming(IBufferWriter<byte> output) : IBufferWriter<byte>
{
    private readonly ArrayBufferWriter<byte> _frames = new(4096);
    private bool _started;

    public void Advance(int count) => _frames.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _frames.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => _frames.GetSpan(sizeHint);

    /// <summary>Moves every complete frame written so far to the output; a partial frame waits for its end.</summary>
    public void Commit()
    {
        var pending = _frames.WrittenSpan;
        var consumed = 0;
        var dataStart = -1;
        var dataEnd = -1;
        var position = 0;
        while (position < pending.Length)
        {
            var newline = pending[position..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }

            var line = pending.Slice(position, newline);
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.IsEmpty)
            {
                if (dataStart >= 0)
                {
                    WriteElement(pending[dataStart..dataEnd]);
                }

                consumed = position + newline + 1;
                dataStart = -1;
            }
            else if (line.StartsWith("data:"u8))
            {
                // Gemini's data is one JSON document per frame, on one line.
                var offset = line.Length > 5 && line[5] == (byte)' ' ? 6 : 5;
                dataStart = position + offset;
                dataEnd = position + line.Length;
            }
            else if (line[0] == (byte)'{')
            {
                // A JSON document outside any frame (the Gemini encoder's error, SseWriter.WriteUnframedJson) is one too.
                dataStart = position;
                dataEnd = position + line.Length;
            }

            position += newline + 1;
        }

        if (consumed > 0)
        {
            var rest = pending[consumed..].ToArray();
            _frames.ResetWrittenCount();
            _frames.Write(rest);
        }
    }

    /// <summary>Writes what is left and closes the array.</summary>
    public void Complete()
    {
        _frames.Write("\n\n"u8);
        Commit();
        output.Write(_started ? "]"u8 : "[]"u8);
    }

    private void WriteElement(ReadOnlySpan<byte> json)
    {
        output.Write(_started ? ",\r\n"u8 : "["u8);
        output.Write(json);
        _started = true;
    }
}
