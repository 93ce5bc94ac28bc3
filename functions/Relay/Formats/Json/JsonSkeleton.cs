using System.Buffers;
using Serverless.Relay.Buffers;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// A copy of a JSON text fed to it in pieces, with every string longer than <see cref="KeptStringBytes"/> made empty
/// and each run of whitespace made one space: what metering reads of a same-format answer relayed as it comes (its
/// structure, usage, stop reason, ids), without the text it was written for.
/// </summary>
/// <remarks>
/// NOTE: why a copy at all. The usage of every client API's answer comes after its content, so an answer can only be
/// metered once it is complete, and the format's reader wants the whole JSON text. Kept whole, the copy grew with
/// the answer; kept as a skeleton it grows with the answer's structure only, and is bound by the caller besides.
/// The text is not validated here: JSON that is not valid before is not valid after, and the reader says so.
/// </remarks>
internal sealed class JsonSkeleton : IDisposable
{
    /// <summary>Strings up to this many UTF-8 bytes are kept: far past any stop reason, id or model name.</summary>
    public const int KeptStringBytes = 1024;

    private static readonly SearchValues<byte> Whitespace = SearchValues.Create(" \t\r\n"u8);

    private static readonly SearchValues<byte> StringEnds = SearchValues.Create("\"\\"u8);

    private readonly PooledBufferWriter _copy = new(16 * 1024);
    private readonly byte[] _string = ArrayPool<byte>.Shared.Rent(KeptStringBytes);
    private readonly long _maxBytes;
    private int _stringLength;
    private bool _inString;
    private bool _escaped;
    private bool _eliding;
    private bool _afterWhitespace;

    /// <param name="maxBytes">The most the copy holds; past it <see cref="Overflowed"/> is set and nothing more is kept.</param>
    public JsonSkeleton(long maxBytes) => _maxBytes = maxBytes;

    /// <summary>Whether the skeleton passed its bound: then <see cref="Written"/> is not the whole of it.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>The skeleton so far; valid until it is disposed.</summary>
    public ReadOnlyMemory<byte> Written => _copy.WrittenMemory;

    /// <summary>Appends the next bytes of the text; a string, an escape or a UTF-8 sequence may be split anywhere.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty && !Overflowed)
        {
            if (!_inString)
            {
                var quote = bytes.IndexOf((byte)'"');
                AppendStructure(quote < 0 ? bytes : bytes[..quote]);
                if (quote < 0)
                {
                    return;
                }

                _inString = true;
                _stringLength = 0;
                _eliding = false;
                bytes = bytes[(quote + 1)..];
                continue;
            }

            if (_escaped)
            {
                // The escaped byte, even a quote, is the string's.
                KeepInString(bytes[..1]);
                _escaped = false;
                bytes = bytes[1..];
                continue;
            }

            var end = bytes.IndexOfAny(StringEnds);
            KeepInString(end < 0 ? bytes : bytes[..end]);
            if (end < 0)
            {
                return;
            }

            if (bytes[end] == (byte)'\\')
            {
                KeepInString(bytes.Slice(end, 1));
                _escaped = true;
            }
            else
            {
                _inString = false;
                Put("\""u8);
                Put(_eliding ? default : _string.AsSpan(0, _stringLength));
                Put("\""u8);
            }

            bytes = bytes[(end + 1)..];
        }
    }

    public void Dispose()
    {
        _copy.Dispose();
        ArrayPool<byte>.Shared.Return(_string);
    }

    /// <summary>Bytes between strings: numbers, literals and punctuation are kept, whitespace runs become one space.</summary>
    private void AppendStructure(ReadOnlySpan<byte> run)
    {
        while (!run.IsEmpty)
        {
            var space = run.IndexOfAny(Whitespace);
            if (space != 0)
            {
                Put(space < 0 ? run : run[..space]);
                _afterWhitespace = false;
                if (space < 0)
                {
                    return;
                }
            }

            if (!_afterWhitespace)
            {
                Put(" "u8);
                _afterWhitespace = true;
            }

            run = run[space..];
            var rest = run.IndexOfAnyExcept(Whitespace);
            run = rest < 0 ? default : run[rest..];
        }
    }

    private void KeepInString(ReadOnlySpan<byte> text)
    {
        _afterWhitespace = false;
        if (_eliding)
        {
            return;
        }

        if (_stringLength + text.Length > KeptStringBytes)
        {
            _eliding = true;
            return;
        }

        text.CopyTo(_string.AsSpan(_stringLength));
        _stringLength += text.Length;
    }

    private void Put(ReadOnlySpan<byte> bytes)
    {
        if (_copy.WrittenMemory.Length + (long)bytes.Length > _maxBytes)
        {
            Overflowed = true;
            return;
        }

        bytes.CopyTo(_copy.GetSpan(bytes.Length));
        _copy.Advance(bytes.Length);
    }
}
