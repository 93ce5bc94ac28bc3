namespace Serverless.Relay.Buffers;

/// <summary>
/// An answer's body read into pooled memory: an upstream attempt's read (whole, or a same-format answer's head), the
/// metering copy of a long answer's rest, and the table service's answer to a batch. The buffer is sized for the
/// length the answer announced, with one byte more for the read that finds the end, so it is not grown by doubling.
/// </summary>
internal static class AnswerBody
{
    /// <summary>
    /// What an answer's body is read in: the first buffer when no length was announced, the least free space asked
    /// before each read, and each read of a long answer's rest relayed as it comes (<c>AnswerRelay</c>).
    /// </summary>
    internal const int ChunkBytes = 16 * 1024;

    /// <summary>An announced length is trusted this far for the first buffer; beyond it the buffer grows as bytes come.</summary>
    private const int MaxAnnouncedBytes = 64 * 1024 * 1024;

    /// <param name="length">The upstream's <c>Content-Length</c>, if any.</param>
    /// <param name="limit">How much of the body the buffer is for: its head, or all of it.</param>
    public static PooledBufferWriter Buffer(long? length, long limit) =>
        new(length is { } known ? (int)Math.Min(Math.Min(known, limit), MaxAnnouncedBytes) + 1 : ChunkBytes);

    /// <summary>Reads into <paramref name="into"/> until the body ends (true) or it holds <paramref name="limit"/> bytes or more (false).</summary>
    public static async ValueTask<bool> ReadAsync(Stream body, PooledBufferWriter into, long? length, long limit, CancellationToken cancellationToken)
    {
        while (into.WrittenMemory.Length < limit)
        {
            if (await ReadNextAsync(body, into, length, cancellationToken).ConfigureAwait(false) == 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the next bytes the body has into <paramref name="into"/>: how many, 0 at its end.</summary>
    private static async ValueTask<int> ReadNextAsync(Stream body, PooledBufferWriter into, long? length, CancellationToken cancellationToken)
    {
        var want = length is { } known ? (int)Math.Clamp(known - into.WrittenMemory.Length, 1, ChunkBytes) : ChunkBytes;
        var read = await body.ReadAsync(into.GetMemory(want), cancellationToken).ConfigureAwait(false);
        into.Advance(read);
        return read;
    }
}
