using System.Buffers;
using System.Security.Cryptography;
using Serverless.Relay.Buffers;

namespace Serverless.Relay.Audit;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> in front of another that takes the SHA-256 of every byte committed through it
/// and, for a full audit, keeps a copy of the first <c>captureLimit</c> bytes. The bytes are hashed where they were
/// written, in the inner writer's own buffer: no copy unless capturing.
/// </summary>
/// <remarks>
/// NOTE: the capture grows in pooled arrays and is handed on as an exact copy (<see cref="CopyCaptured"/>): the copy
/// waits in the usage writer's queue until its blob is written, and a 16 KB array per answer of a few hundred bytes
/// made a full audit's queue of 38,000 records 800 MB (bench/ANALYSIS.md, "Full audit: bodies in the usage queue").
/// </remarks>
internal sealed class DigestingBufferWriter(IBufferWriter<byte> inner, int captureLimit) : IBufferWriter<byte>, IDisposable
{
    private IncrementalHash? _hash = Sha256Pool.Rent();
    private Sha256Digest? _sha256;
    private readonly PooledBufferWriter? _capture = captureLimit > 0 ? new PooledBufferWriter(Math.Min(captureLimit, 4096)) : null;
    private Memory<byte> _lent;

    public long Length { get; private set; }

    /// <summary>True when more was written than the capture keeps.</summary>
    public bool Truncated => _capture is not null && Length > _capture.WrittenSpan.Length;

    /// <summary>A copy of the bytes kept, exactly as long as they are; empty when not capturing.</summary>
    public ReadOnlyMemory<byte> CopyCaptured() => _capture?.WrittenMemory.ToArray() ?? default;

    public void Advance(int count)
    {
        var written = _lent.Span[..count];
        ObjectDisposedException.ThrowIf(_hash is null || _sha256 is not null, this);
        _hash.AppendData(written);
        if (_capture is not null && _capture.WrittenSpan.Length < captureLimit)
        {
            _capture.Write(written[..Math.Min(count, captureLimit - _capture.WrittenSpan.Length)]);
        }

        Length += count;
        _lent = default;
        inner.Advance(count);
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => _lent = inner.GetMemory(sizeHint);

    // NOTE: a span cannot be kept until Advance, so spans are handed out from the memory, which can.
    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <summary>The digest of everything written; nothing can be written after it is taken.</summary>
    public Sha256Digest Sha256()
    {
        if (_sha256 is not { } digest)
        {
            ObjectDisposedException.ThrowIf(_hash is null, this);
            _sha256 = digest = Sha256Digest.TakeFrom(_hash);
        }

        return digest;
    }

    public void Dispose()
    {
        _capture?.Dispose(); // gives its array back once; a second call finds none
        var hash = Interlocked.Exchange(ref _hash, null);
        if (hash is null)
        {
            return;
        }

        Sha256Pool.Return(hash, finished: _sha256 is not null);
    }
}
