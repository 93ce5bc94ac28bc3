using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.ObjectPool;

namespace Serverless.Relay.Audit;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> in front of another that takes the SHA-256 of every byte committed through it
/// and, for a full audit, keeps a copy of the first <c>captureLimit</c> bytes. The bytes are hashed where they were
/// written, in the inner writer's own buffer: no copy unless capturing.
/// </summary>
internal sealed class DigestingBufferWriter(IBufferWriter<byte> inner, int captureLimit) : IBufferWriter<byte>, IDisposable
{
    // NOTE: a hash is reused once it is finished and reset, not created per response: each creation is a native context
    // and a finalizable handle, and a copy of the context was made to read the digest (bench/ANALYSIS.md, "SHA-256 per request").
    // One hash per response in flight, so the pool keeps as many as a busy instance has responses (the default keeps
    // two per core, which at concurrency 64 made nearly every response create one again); it disposes what it does not keep.
    private static readonly ObjectPool<IncrementalHash> Hashes = new DefaultObjectPoolProvider { MaximumRetained = 1024 }.Create(new Sha256Policy());

    private IncrementalHash? _hash = Hashes.Get();
    private string? _sha256Hex;
    private readonly ArrayBufferWriter<byte>? _capture = captureLimit > 0 ? new ArrayBufferWriter<byte>(Math.Min(captureLimit, 16 * 1024)) : null;
    private Memory<byte> _lent;

    public long Length { get; private set; }

    /// <summary>True when more was written than the capture keeps.</summary>
    public bool Truncated => Length > (_capture?.WrittenCount ?? 0) && _capture is not null;

    public ReadOnlyMemory<byte> Captured => _capture?.WrittenMemory ?? default;

    public void Advance(int count)
    {
        var written = _lent.Span[..count];
        ObjectDisposedException.ThrowIf(_sha256Hex is not null, this);
        _hash!.AppendData(written);
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

    /// <summary>The digest of everything written, as lowercase hex; nothing can be written after it is taken.</summary>
    public string Sha256Hex()
    {
        if (_sha256Hex is null)
        {
            ObjectDisposedException.ThrowIf(_hash is null, this);
            _sha256Hex = Convert.ToHexStringLower(_hash.GetHashAndReset());
        }

        return _sha256Hex;
    }

    public void Dispose()
    {
        var hash = Interlocked.Exchange(ref _hash, null);
        if (hash is null)
        {
            return;
        }

        // Only a finished hash is back at its start; one dropped halfway is not reused.
        if (_sha256Hex is not null)
        {
            Hashes.Return(hash);
        }
        else
        {
            hash.Dispose();
        }
    }

    private sealed class Sha256Policy : PooledObjectPolicy<IncrementalHash>
    {
        public override IncrementalHash Create() => IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public override bool Return(IncrementalHash obj) => true;
    }
}
