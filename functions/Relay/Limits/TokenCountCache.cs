using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Serverless.Relay.Limits;

/// <summary>Counts one text's tokens.</summary>
internal delegate int TextCounter(ReadOnlySpan<char> text);

/// <summary>
/// Remembers the token counts of long texts. A client sends the same system prompt, tool definitions and conversation
/// history again with every turn, and counting them again was the costliest part of a token limit: BPE runs at about
/// 0.2 µs a token, so 40 µs for a short chat and milliseconds for an agent's prompt, per request (bench/ANALYSIS.md).
/// Looking a text up costs one hash of its characters and, on a hit, one comparison.
/// </summary>
/// <remarks>
/// Two generations bound the memory: when the current one has taken <see cref="MaxChars"/> characters it becomes the
/// previous one and the older one is dropped; a hit in the previous generation moves the text forward, so texts in use
/// survive the turnover. The keys are the texts themselves (a hash alone could collide and return another text's
/// count), hashed with XxHash3 under a per-process random seed, so a client cannot craft colliding texts.
/// </remarks>
internal sealed class TokenCountCache
{
    /// <summary>Shorter texts cost less to count than to remember.</summary>
    public const int MinLength = 256;

    /// <summary>Longer texts are counted every time: one would take a large share of the cache (or all of it).</summary>
    public const int MaxLength = 256 * 1024;

    /// <summary>Characters per generation: at most twice this (2 bytes each) is held, plus the entries.</summary>
    public const long MaxChars = 2 * 1024 * 1024;

    private static readonly IEqualityComparer<string> Comparer = new SeededContentComparer();

    private readonly Lock _turnover = new();
    private Generation _current = new();
    private Generation _previous = new();

    /// <summary>The count of <paramref name="text"/>, from memory when it was counted recently, else by <paramref name="count"/>.</summary>
    /// <remarks>A span, so that a text read in place from a request's JSON is looked up without becoming a string first.</remarks>
    public int GetOrCount(ReadOnlySpan<char> text, TextCounter count)
    {
        if (text.Length is < MinLength or > MaxLength)
        {
            return count(text);
        }

        var current = Volatile.Read(ref _current);
        if (current.Lookup.TryGetValue(text, out var tokens))
        {
            return tokens;
        }

        if (!Volatile.Read(ref _previous).Lookup.TryGetValue(text, out tokens))
        {
            tokens = count(text);
        }

        Remember(current, text, tokens);
        return tokens;
    }

    /// <summary>Texts held now, in both generations; for tests.</summary>
    internal int Count => Volatile.Read(ref _current).Counts.Count + Volatile.Read(ref _previous).Counts.Count;

    private void Remember(Generation generation, ReadOnlySpan<char> text, int tokens)
    {
        if (!generation.Lookup.TryAdd(text, tokens) || Interlocked.Add(ref generation.Chars, text.Length) <= MaxChars)
        {
            return;
        }

        lock (_turnover)
        {
            if (ReferenceEquals(_current, generation))
            {
                Volatile.Write(ref _previous, generation);
                Volatile.Write(ref _current, new Generation());
            }
        }
    }

    private sealed class Generation
    {
        public readonly ConcurrentDictionary<string, int> Counts;
        public readonly ConcurrentDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Lookup;
        public long Chars;

        public Generation()
        {
            Counts = new ConcurrentDictionary<string, int>(Comparer);
            Lookup = Counts.GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }

    private sealed class SeededContentComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
    {
        private readonly long _seed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));

        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

        public int GetHashCode(string text) => GetHashCode(text.AsSpan());

        public bool Equals(ReadOnlySpan<char> alternate, string other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<char> alternate) => (int)XxHash3.HashToUInt64(MemoryMarshal.AsBytes(alternate), _seed);

        public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();
    }
}
