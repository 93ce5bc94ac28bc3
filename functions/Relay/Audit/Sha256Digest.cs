using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Serverless.Relay.Audit;

/// <summary>A SHA-256 digest as its 32 bytes; lowercase hex (<see cref="ToString"/>) where it is written or shown.</summary>
/// <remarks>
/// NOTE: why not the hex string. Every audited request carries two digests until the usage writer stores its row, and
/// a 64-character string is about 150 bytes of heap against 32 here, held inline: a full usage queue (100,000 records)
/// held about 30 MB of digest strings (bench/ANALYSIS.md, "Audit digests as bytes").
/// </remarks>
internal readonly struct Sha256Digest : IEquatable<Sha256Digest>
{
    public const int Size = 32;

    private readonly Bytes _bytes;

    private Sha256Digest(Bytes bytes) => _bytes = bytes;

    public static Sha256Digest Of(ReadOnlySpan<byte> data)
    {
        var bytes = default(Bytes);
        SHA256.HashData(data, bytes);
        return new Sha256Digest(bytes);
    }

    /// <summary>The digest of what <paramref name="hash"/> took in, which leaves it at its start.</summary>
    public static Sha256Digest TakeFrom(IncrementalHash hash)
    {
        var bytes = default(Bytes);
        hash.GetHashAndReset(bytes);
        return new Sha256Digest(bytes);
    }

    /// <summary>Reads a stored digest; null when <paramref name="hex"/> is missing or not 64 hex digits.</summary>
    public static Sha256Digest? Parse(string? hex)
    {
        var bytes = default(Bytes);
        return hex is { Length: Size * 2 } && Convert.FromHexString(hex, bytes, out _, out var written) == System.Buffers.OperationStatus.Done && written == Size
            ? new Sha256Digest(bytes)
            : null;
    }

    public bool Equals(Sha256Digest other) => ((ReadOnlySpan<byte>)_bytes).SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => obj is Sha256Digest other && Equals(other);

    public override int GetHashCode() => BitConverter.ToInt32(_bytes);

    public static bool operator ==(Sha256Digest left, Sha256Digest right) => left.Equals(right);

    public static bool operator !=(Sha256Digest left, Sha256Digest right) => !left.Equals(right);

    /// <summary>Lowercase hex, as stored and as the audit API shows it.</summary>
    public override string ToString() => Convert.ToHexStringLower(_bytes);

    [InlineArray(Size)]
    private struct Bytes
    {
        private byte _first;
    }
}
