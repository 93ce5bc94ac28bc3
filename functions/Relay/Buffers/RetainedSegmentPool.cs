using System.Buffers;

namespace Serverless.Relay.Buffers;

/// <summary>
/// A memory pool of fixed-size segments kept with their owners, up to <c>retained</c> of them; a rent beyond what is
/// kept, or larger than a segment, gets memory of its own.
/// </summary>
/// <remarks>
/// NOTE: why owners are kept too. A pipe rents a segment for each read that waits, so an owner made per rent (as a
/// pool over arrays would make) is garbage per event of a stream.
/// </remarks>
internal sealed class RetainedSegmentPool(int segmentBytes, int retained) : MemoryPool<byte>
{
    private readonly Lock _lock = new();
    private readonly Segment[] _kept = new Segment[retained];
    private int _count;

    public override int MaxBufferSize => segmentBytes;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > segmentBytes)
        {
            return new Segment(null, new byte[minBufferSize]) { Rented = true };
        }

        Segment? segment = null;
        lock (_lock)
        {
            if (_count > 0)
            {
                segment = _kept[--_count];
                _kept[_count] = null!;
            }
        }

        segment ??= new Segment(this, new byte[segmentBytes]);
        segment.Rented = true;
        return segment;
    }

    protected override void Dispose(bool disposing)
    {
    }

    private void Return(Segment segment)
    {
        lock (_lock)
        {
            if (_count < _kept.Length)
            {
                _kept[_count++] = segment;
            }
        }
    }

    private sealed class Segment(RetainedSegmentPool? pool, byte[] array) : IMemoryOwner<byte>
    {
        // A second dispose must not put a segment in the pool twice, where two renters would share it.
        public bool Rented { get; set; }

        public Memory<byte> Memory => Rented ? array : throw new ObjectDisposedException(nameof(Segment));

        public void Dispose()
        {
            if (!Rented)
            {
                return;
            }

            Rented = false;
            pool?.Return(this);
        }
    }
}
