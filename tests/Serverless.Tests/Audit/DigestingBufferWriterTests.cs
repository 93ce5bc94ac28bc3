using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Serverless.Relay.Audit;
using Xunit;

namespace Serverless.Tests.Audit;

public sealed class DigestingBufferWriterTests
{
    /// <summary>
    /// Writers whose hashes come from one shared pool, many at once, some dropped before their digest is taken: each
    /// digest is the SHA-256 of its own bytes, so a reused hash never carries another response's bytes.
    /// </summary>
    [Fact]
    public async Task Sha256_ManyWritersSharingReusedHashes_EachTheDigestOfItsOwnBytes()
    {
        var tasks = Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 300; i++)
            {
                var inner = new ArrayBufferWriter<byte>();
                using var writer = new DigestingBufferWriter(inner, captureLimit: random.Next(2) == 0 ? 0 : 100);
                for (var pieces = random.Next(0, 6); pieces > 0; pieces--)
                {
                    var piece = new byte[random.Next(0, 3000)];
                    random.NextBytes(piece);
                    writer.Write(piece);
                }

                if (random.Next(4) == 0)
                {
                    continue; // dropped halfway: its hash is not reused
                }

                Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(inner.WrittenSpan)), writer.Sha256().ToString());
                Assert.Equal(inner.WrittenCount, writer.Length);
                Assert.Equal(writer.Sha256(), writer.Sha256());
            }
        }, TestContext.Current.CancellationToken));

        await Task.WhenAll(tasks);
    }

    [Fact]
    public void Write_AfterTheDigestWasTaken_Refused()
    {
        using var writer = new DigestingBufferWriter(new ArrayBufferWriter<byte>(), captureLimit: 0);
        writer.Write("abc"u8);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", writer.Sha256().ToString());

        Assert.Throws<ObjectDisposedException>(() => writer.Write("d"u8));
    }

    [Fact]
    public void WriteAndDigest_AfterDispose_Refused()
    {
        var writer = new DigestingBufferWriter(new ArrayBufferWriter<byte>(), captureLimit: 0);
        writer.Write("abc"u8);
        writer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => writer.Write("d"u8));
        Assert.Throws<ObjectDisposedException>(() => writer.Sha256());
    }

    /// <summary>
    /// The capture keeps the first <c>captureLimit</c> bytes of what passed, however it was cut into writes, and its
    /// copy is exactly that long: it waits in the usage queue until its blob is written.
    /// </summary>
    [Theory]
    [InlineData(100_000, 2_999, false)]
    [InlineData(2_999, 2_999, false)]
    [InlineData(1_000, 1_000, true)]
    [InlineData(1, 1, true)]
    public void CopyCaptured_WrittenInPieces_TheFirstBytesUpToTheLimit_InAnArrayOfExactlyTheirLength(int captureLimit, int kept, bool truncated)
    {
        var written = Enumerable.Range(0, 2_999).Select(i => (byte)(i * 31)).ToArray();
        var inner = new ArrayBufferWriter<byte>();
        using var writer = new DigestingBufferWriter(inner, captureLimit);
        foreach (var piece in written.Chunk(701))
        {
            writer.Write(piece);
        }

        var copy = writer.CopyCaptured();

        Assert.Equal(written, inner.WrittenSpan.ToArray());
        Assert.Equal(written.AsSpan(0, kept).ToArray(), copy.ToArray());
        Assert.True(MemoryMarshal.TryGetArray(copy, out var segment));
        Assert.Equal(kept, segment.Array!.Length);
        Assert.Equal(truncated, writer.Truncated);
    }

    [Fact]
    public void CopyCaptured_NotCapturing_EmptyAndNeverTruncated()
    {
        using var writer = new DigestingBufferWriter(new ArrayBufferWriter<byte>(), captureLimit: 0);
        writer.Write("abc"u8);

        Assert.True(writer.CopyCaptured().IsEmpty);
        Assert.False(writer.Truncated);
    }
}
