using System.Buffers;
using System.Security.Cryptography;
using Serverless.Relay.Buffers;

namespace Serverless.Relay.Audit;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> in front of another that takes the SHA-256 of every byte committed through it
/// and, for a full audit, keeps a copy of the first <c>captureLimit</c> bytes. The bytes are hashed where they were
/// written, in the inner writer's own buffer: no copy unless capturing.
/// </summary>
internal sealed class DigestingBufferWriter(IBufferWriter<byte> inner, int captureLimit) : IBufferWriter<byte>, IDisposable
{
    private IncrementalHash? _hash = Sha256Pool.Rent();
    private Sha256Digest? _sha256;
    private readonly ArrayBufferWriter<byte>? _capture = captureLimit > 0 ? new ArrayBufferWriter<byte>(Math.Min(captureLimit, 16 * 1024)) : null;
    private Memory<byte> _lent;

    public long Length { get; private set; }

    /// <summary>True when more was written than the capture keeps.</summary>
    public bool Truncated => Length > (_capture?.WrittenCount ?? 0) && _capture is not null;

    public ReadOnlyMemory<byte> Captured => _capture?.WrittenMemory ?? default;

    public void Advance(int count)
    {
        var written = _lent.Span[..count];
        ObjectDisposedException.ThrowIf(_hash is null || _sha256 is not null, this);
        _hash.AppendData(written);
        if (_capture is not null && _capture.WrittenCount < captureLimit)
        {
            var kept = written[..Math.Min(count, captureLimit - _capture.WrittenCount)];
            _capture.Write(kept);
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
        var hash = Interlocked.Exchange(ref _hash, null);
        if (hash is null)
        {
            return;
        }

        Sha256Pool.Return(hash, finished: _sha256 is not null);
    }
}
