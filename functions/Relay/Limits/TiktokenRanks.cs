using System.Buffers;
using System.Buffers.Text;
using System.IO.Compression;
using System.IO.Hashing;
using System.Numerics;

namespace Serverless.Relay.Limits;

/// <summary>
/// A tiktoken vocabulary (each token's bytes and its rank), held as three flat arrays: the tokens' bytes end to end,
/// where each token starts, and an open-addressing table from a hash of the bytes to the rank.
/// </summary>
/// <remarks>
/// NOTE: why not the tokenizer library's own vocabulary. Microsoft.ML.Tokenizers keeps o200k_base's 200,000 tokens in
/// three dictionaries (bytes to id, id to bytes, string to id) with an array and a string per token: 42 MB live, for
/// a count that needs only bytes to rank. These arrays are about 4 MB (bench/ANALYSIS.md, "The tokenizer's memory").
/// </remarks>
internal sealed class TiktokenRanks
{
    /// <summary>The vocabulary that ships with Microsoft.ML.Tokenizers.Data.O200kBase, loaded as that library does.</summary>
    private const string O200kBaseDataType =
        "Microsoft.ML.Tokenizers.O200kBaseTokenizerData, Microsoft.ML.Tokenizers.Data.O200kBase, Version=1.0.0.0, Culture=neutral, PublicKeyToken=cc7b13ffcd2ddd51";

    private const string O200kBaseResource = "o200k_base.tiktoken.deflate";

    private readonly byte[] _bytes;
    private readonly int[] _starts;
    private readonly int[] _slots;
    private readonly int _mask;

    private TiktokenRanks(byte[] bytes, int[] starts, int count)
    {
        _bytes = bytes;
        _starts = starts;
        Count = count;

        // Under half full, so a probe rarely looks at more than one or two slots.
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)count * 2 + 1);
        _slots = new int[size];
        _mask = size - 1;
        for (var rank = 0; rank < count; rank++)
        {
            var slot = Slot(Token(rank));
            while (_slots[slot] != 0)
            {
                slot = (slot + 1) & _mask;
            }

            _slots[slot] = rank + 1;
        }
    }

    /// <summary>How many ordinary tokens (ranks 0 to Count − 1) the vocabulary has.</summary>
    public int Count { get; }

    /// <summary>The bytes held, for the memory they take.</summary>
    public long HeldBytes => _bytes.Length + (_starts.Length + (long)_slots.Length) * sizeof(int);

    /// <summary>o200k_base, the encoding of GPT-4o and later OpenAI models.</summary>
    public static TiktokenRanks LoadO200kBase()
    {
        var assembly = Type.GetType(O200kBaseDataType, throwOnError: true)!.Assembly;
        using var resource = assembly.GetManifestResourceStream(O200kBaseResource)
            ?? throw new InvalidOperationException($"{O200kBaseResource} is missing from {assembly.GetName().Name}");
        using var inflated = new DeflateStream(resource, CompressionMode.Decompress);
        return Read(inflated);
    }

    /// <summary>
    /// Reads a vocabulary in the form the tokenizer library ships: a <c>Capacity: N</c> line, then one base64 token per
    /// line, the line's position (from 0) being its rank.
    /// </summary>
    public static TiktokenRanks Read(Stream stream)
    {
        using var text = new MemoryStream();
        stream.CopyTo(text);
        var lines = text.GetBuffer().AsSpan(0, (int)text.Length);

        var header = NextLine(ref lines);
        if (!header.StartsWith("Capacity: "u8))
        {
            throw new InvalidDataException("a tiktoken vocabulary starts with a Capacity line");
        }

        // Base64 decodes to at most three quarters of its length, so the encoded size bounds the decoded one.
        var bytes = new byte[lines.Length * 3 / 4];
        // The header's count sizes the list (a wrong one only costs a resize), bounded by what the text can hold: a
        // token line is at least four base64 characters and a line break.
        var capacity = Utf8Parser.TryParse(header["Capacity: "u8.Length..], out int stated, out _) ? Math.Clamp(stated, 0, lines.Length / 5) : 0;
        var starts = new List<int>(capacity + 1);
        var written = 0;
        while (!lines.IsEmpty)
        {
            var line = NextLine(ref lines);
            if (line.IsEmpty)
            {
                continue;
            }

            if (Base64.DecodeFromUtf8(line, bytes.AsSpan(written), out _, out var decoded) != OperationStatus.Done || decoded == 0)
            {
                throw new InvalidDataException($"line {starts.Count + 2} of the vocabulary is not a base64 token");
            }

            starts.Add(written);
            written += decoded;
        }

        var count = starts.Count;
        starts.Add(written);
        return new TiktokenRanks(bytes.AsSpan(0, written).ToArray(), [.. starts], count);
    }

    /// <summary>The rank of exactly these bytes as one token, or −1 when they are not one.</summary>
    public int RankOf(ReadOnlySpan<byte> bytes)
    {
        for (var slot = Slot(bytes); ; slot = (slot + 1) & _mask)
        {
            var entry = _slots[slot];
            if (entry == 0)
            {
                return -1;
            }

            if (Token(entry - 1).SequenceEqual(bytes))
            {
                return entry - 1;
            }
        }
    }

    private ReadOnlySpan<byte> Token(int rank) => _bytes.AsSpan(_starts[rank], _starts[rank + 1] - _starts[rank]);

    private int Slot(ReadOnlySpan<byte> bytes) => (int)XxHash3.HashToUInt64(bytes) & _mask;

    private static ReadOnlySpan<byte> NextLine(ref Span<byte> rest)
    {
        var end = rest.IndexOf((byte)'\n');
        var line = end < 0 ? rest : rest[..end];
        rest = end < 0 ? [] : rest[(end + 1)..];
        return line.TrimEnd((byte)'\r');
    }
}
