using System.Buffers;

namespace Serverless.Relay.Buffers;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays rented from a pool (the shared one unless given), returned when it is
/// disposed.
/// </summary>
/// <remarks>
/// NOTE: why not <see cref="ArrayBufferWriter{T}"/>. A batch body is 100 KB or more, so each new array was a large
/// object: zeroed, faulted in page by page and collected only by a full collection. Growing and allocating those arrays
/// was 6.5 % of the relay's CPU at concurrency 64 (bench/ANALYSIS.md, "Usage batches, request ids and options at start-up").
/// </remarks>
internal sealed class PooledBufferWriter(int initialCapacity, ArrayPool<byte>? pool = null) : IBufferWriter<byte>, IDisposable
{
    private readonly ArrayPool<byte> _pool = pool ?? ArrayPool<byte>.Shared;
    private byte[] _buffer = (pool ?? ArrayPool<byte>.Shared).Rent(initialCapacity);
    private int _written;

    /// <summary>What has been written so far; valid until the writer is disposed.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>What has been written so far, as a span; valid until the writer is disposed.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _written);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureFree(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureFree(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Forgets what was written and keeps the buffer for what comes next.</summary>
    public void Clear() => _written = 0;

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0)
        {
            _pool.Return(buffer);
        }
    }

    private void EnsureFree(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        var larger = _pool.Rent(Math.Max(checked(_written + needed), _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        _pool.Return(_buffer);
        _buffer = larger;
    }
}
