using System.Buffers;

namespace Serverless.Relay.Buffers;

/// <summary>
/// The buffers a relayed stream holds for its whole life (its reader's segments, its event and batch buffers), kept
/// from stream to stream.
/// </summary>
/// <remarks>
/// NOTE: why not the shared pool. On one CPU the shared pool keeps 32 arrays of a size, so with more streams than that
/// at once, streams allocated theirs anew. Those buffers were then young and in use at each gen0 collection: 1.8 MB of
/// the 2.9 MB a collection had to copy at 64 paced streams. Kept here, they grow old once and are not copied again: a
/// paced stream allocates a fifth less, and collections are rarer and copy half as much (bench/ANALYSIS.md, "What a
/// collection copies"). Up to <see cref="Retained"/> of each size are kept: 2.6 MB for the sizes a stream uses, about
/// 6 MB if every size up to the largest were in use at once; a stream beyond that allocates as before.
/// </remarks>
internal static class StreamBuffers
{
    /// <summary>How many buffers of each size are kept: streams at once that allocate nothing for their buffers.</summary>
    public const int Retained = 128;

    /// <summary>The largest array kept, and the size of a reader's segment.</summary>
    public const int LargestBytes = 16 * 1024;

    /// <summary>Arrays for a stream's own buffers (<see cref="PooledBufferWriter"/>).</summary>
    public static ArrayPool<byte> Arrays { get; } = ArrayPool<byte>.Create(LargestBytes, Retained);

    /// <summary>Segments for a stream's <see cref="System.IO.Pipelines.PipeReader"/>.</summary>
    public static MemoryPool<byte> Segments { get; } = new RetainedSegmentPool(LargestBytes, Retained);
}
