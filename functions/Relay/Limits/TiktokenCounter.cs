using System.Buffers;
using System.Text;
using System.Text.Unicode;
using System.Text.RegularExpressions;

namespace Serverless.Relay.Limits;

/// <summary>
/// Counts the tokens OpenAI's o200k_base encoding gives a text, as tiktoken and Microsoft.ML.Tokenizers do: special
/// tokens first, then the encoding's pattern splits the rest into pieces, and each piece is one token or its UTF-8
/// bytes merged pair by pair, lowest rank first.
/// </summary>
/// <remarks>
/// Only counts: no ids are produced, so nothing is allocated per piece. The tests compare it with the library's
/// <c>TiktokenTokenizer.CountTokens</c> on every kind of text.
/// </remarks>
internal sealed partial class TiktokenCounter(TiktokenRanks ranks)
{
    /// <summary>
    /// o200k_base's pattern, as tiktoken's openai_public.py and Microsoft.ML.Tokenizers write it for .NET.
    /// </summary>
    private const string O200kBasePattern =
        @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>o200k_base's special tokens: each is one token wherever it appears in the text.</summary>
    private static readonly string[] SpecialTokens = ["<|endoftext|>", "<|endofprompt|>"];

    // Pieces up to this many UTF-8 bytes are merged in stack memory; longer ones (rare: a run of letters or symbols
    // with no space) in rented arrays.
    private const int StackBytes = 256;

    public static TiktokenCounter O200kBase() => new(TiktokenRanks.LoadO200kBase());

    public int CountTokens(ReadOnlySpan<char> text)
    {
        var total = 0;
        while (true)
        {
            var (at, length) = NextSpecialToken(text);
            if (at < 0)
            {
                return total + CountOrdinary(text);
            }

            total += CountOrdinary(text[..at]) + 1;
            text = text[(at + length)..];
        }
    }

    [GeneratedRegex(O200kBasePattern)]
    private static partial Regex O200kBaseRegex();

    private static (int At, int Length) NextSpecialToken(ReadOnlySpan<char> text)
    {
        var searched = 0;
        while (true)
        {
            var at = text[searched..].IndexOf("<|", StringComparison.Ordinal);
            if (at < 0)
            {
                return (-1, 0);
            }

            at += searched;
            foreach (var special in SpecialTokens)
            {
                if (text[at..].StartsWith(special, StringComparison.Ordinal))
                {
                    return (at, special.Length);
                }
            }

            searched = at + 1;
        }
    }

    private int CountOrdinary(ReadOnlySpan<char> text)
    {
        var total = 0;
        foreach (var match in O200kBaseRegex().EnumerateMatches(text))
        {
            total += CountPiece(text.Slice(match.Index, match.Length));
        }

        return total;
    }

    private int CountPiece(ReadOnlySpan<char> piece)
    {
        var most = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rented = null;
        var buffer = most <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(most));
        try
        {
            var bytes = buffer[..ToUtf8(piece, buffer)];
            return bytes.Length == 1 || ranks.RankOf(bytes) >= 0 ? 1 : CountMerged(bytes);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// UTF-8, except that a lone surrogate becomes the three bytes of its code unit (as in WTF-8) rather than U+FFFD:
    /// that is what the tokenizer library counts, so a text cut in the middle of an emoji counts the same.
    /// </summary>
    private static int ToUtf8(ReadOnlySpan<char> text, Span<byte> bytes)
    {
        if (Utf8.FromUtf16(text, bytes, out _, out var written, replaceInvalidSequences: false) == OperationStatus.Done)
        {
            return written;
        }

        written = 0;
        for (var i = 0; i < text.Length; i++)
        {
            int c = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var scalar = char.ConvertToUtf32(text[i], text[++i]);
                bytes[written++] = (byte)(0xF0 | (scalar >> 18));
                bytes[written++] = (byte)(0x80 | ((scalar >> 12) & 0x3F));
                bytes[written++] = (byte)(0x80 | ((scalar >> 6) & 0x3F));
                bytes[written++] = (byte)(0x80 | (scalar & 0x3F));
            }
            else if (c < 0x80)
            {
                bytes[written++] = (byte)c;
            }
            else if (c < 0x800)
            {
                bytes[written++] = (byte)(0xC0 | (c >> 6));
                bytes[written++] = (byte)(0x80 | (c & 0x3F));
            }
            else
            {
                bytes[written++] = (byte)(0xE0 | (c >> 12));
                bytes[written++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                bytes[written++] = (byte)(0x80 | (c & 0x3F));
            }
        }

        return written;
    }

    /// <summary>
    /// tiktoken's byte-pair merge, counting what is left: every byte starts as a part; the adjacent pair whose bytes
    /// have the lowest rank (the leftmost of equals) becomes one part, until no adjacent pair is a token.
    /// </summary>
    /// <remarks>
    /// tiktoken rescans the parts for the lowest pair after each merge, which is quadratic in a piece's length; a piece
    /// can be a whole request's worth of one repeated letter. Here the pairs wait in a heap ordered by (rank, position),
    /// which picks the same pair each time: entries made stale by a merge are skipped when they come up.
    /// </remarks>
    private int CountMerged(ReadOnlySpan<byte> piece)
    {
        var n = piece.Length;
        int[]? rentedParts = null;
        long[]? rentedHeap = null;
        // Each merge pushes at most two pairs: n − 1 to start with and 2 (n − 1) more at most.
        var parts = n <= StackBytes ? stackalloc int[3 * n] : (rentedParts = ArrayPool<int>.Shared.Rent(3 * n));
        var heapSpace = n <= StackBytes ? stackalloc long[3 * n] : (rentedHeap = ArrayPool<long>.Shared.Rent(3 * n));
        try
        {
            // A part starts at a byte position: next[p] is where the following part starts (n past the last one), and
            // rank[p] the rank of the pair it starts (−1: none, or not a token). A merged-away part has next −1.
            var next = parts[..n];
            var previous = parts.Slice(n, n);
            var rank = parts.Slice(2 * n, n);
            var heap = new PairHeap(heapSpace);
            for (var p = 0; p < n; p++)
            {
                next[p] = p + 1;
                previous[p] = p - 1;
                rank[p] = p + 2 <= n ? ranks.RankOf(piece.Slice(p, 2)) : -1;
                heap.PushIfToken(rank[p], p);
            }

            var left = n;
            while (heap.TryPop(out var pairRank, out var start))
            {
                if (next[start] < 0 || rank[start] != pairRank)
                {
                    continue;
                }

                var merged = next[start];
                var after = next[merged];
                next[start] = after;
                if (after < n)
                {
                    previous[after] = start;
                }

                next[merged] = -1;
                rank[merged] = -1;
                left--;

                rank[start] = after < n ? ranks.RankOf(piece[start..next[after]]) : -1;
                heap.PushIfToken(rank[start], start);
                var before = previous[start];
                if (before >= 0)
                {
                    rank[before] = ranks.RankOf(piece[before..after]);
                    heap.PushIfToken(rank[before], before);
                }
            }

            return left;
        }
        finally
        {
            if (rentedParts is not null)
            {
                ArrayPool<int>.Shared.Return(rentedParts);
                ArrayPool<long>.Shared.Return(rentedHeap!);
            }
        }
    }

    /// <summary>A binary min-heap of (rank, position) pairs packed in a long, so comparing the longs orders both.</summary>
    /// <remarks>NOTE: not <see cref="PriorityQueue{TElement, TPriority}"/>, which would allocate its array per piece; this one lives in the caller's stack memory.</remarks>
    private ref struct PairHeap(Span<long> items)
    {
        private readonly Span<long> _items = items;
        private int _count;

        public void PushIfToken(int rank, int position)
        {
            if (rank < 0)
            {
                return;
            }

            var i = _count++;
            var item = ((long)rank << 32) | (uint)position;
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (_items[parent] <= item)
                {
                    break;
                }

                _items[i] = _items[parent];
                i = parent;
            }

            _items[i] = item;
        }

        public bool TryPop(out int rank, out int position)
        {
            if (_count == 0)
            {
                rank = position = 0;
                return false;
            }

            var top = _items[0];
            var last = _items[--_count];
            var i = 0;
            while (true)
            {
                var child = 2 * i + 1;
                if (child >= _count)
                {
                    break;
                }

                if (child + 1 < _count && _items[child + 1] < _items[child])
                {
                    child++;
                }

                if (last <= _items[child])
                {
                    break;
                }

                _items[i] = _items[child];
                i = child;
            }

            _items[i] = last;
            rank = (int)(top >> 32);
            position = (int)(uint)top;
            return true;
        }
    }
}
