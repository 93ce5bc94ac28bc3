using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Serverless.Relay.Buffers;
using Xunit;

namespace Serverless.Tests.Buffers;

public sealed class StreamBuffersTests
{
    [Fact]
    public void Segments_RentedAfterReturn_GivesTheSameMemoryBack()
    {
        var pool = new RetainedSegmentPool(4096, retained: 2);
        var first = pool.Rent(100);
        var array = ArrayOf(first);
        first.Dispose();

        using var again = pool.Rent(100);

        Assert.Same(array, ArrayOf(again));
        Assert.Equal(4096, again.Memory.Length);
    }

    [Fact]
    public void Segments_BeyondWhatIsRetained_AreNotKept()
    {
        var pool = new RetainedSegmentPool(64, retained: 1);
        var a = pool.Rent();
        var b = pool.Rent();
        var (arrayA, arrayB) = (ArrayOf(a), ArrayOf(b));
        a.Dispose();
        b.Dispose();

        using var c = pool.Rent();
        using var d = pool.Rent();

        Assert.Same(arrayA, ArrayOf(c));
        Assert.NotSame(arrayB, ArrayOf(d));
        Assert.NotSame(arrayA, ArrayOf(d));
    }

    [Fact]
    public void Segments_DisposedTwice_NeverGivenToTwoRenters()
    {
        var pool = new RetainedSegmentPool(64, retained: 4);
        var segment = pool.Rent();
        segment.Dispose();
        Assert.Throws<ObjectDisposedException>(() => segment.Memory.Length);
        segment.Dispose();

        using var a = pool.Rent();
        using var b = pool.Rent();

        Assert.NotSame(ArrayOf(a), ArrayOf(b));
    }

    [Fact]
    public void Segments_LargerThanASegment_AreMadeToSize()
    {
        var pool = new RetainedSegmentPool(64, retained: 4);
        var large = pool.Rent(65);
        var array = ArrayOf(large);
        large.Dispose();

        using var next = pool.Rent(10);

        Assert.Equal(65, array.Length);
        Assert.NotSame(array, ArrayOf(next));
    }

    [Fact]
    public void Writer_OverStreamArrays_GrowsPastTheLargestKeptAndGivesItBack()
    {
        var text = new string('x', StreamBuffers.LargestBytes * 3);
        using (var writer = new PooledBufferWriter(1024, StreamBuffers.Arrays))
        {
            writer.Write(Encoding.ASCII.GetBytes(text));
            Assert.Equal(text, Encoding.ASCII.GetString(writer.WrittenSpan));
        }

        // The pool took back what it could keep and dropped the rest without complaint; it still serves.
        var array = StreamBuffers.Arrays.Rent(1024);
        Assert.Equal(1024, array.Length);
        StreamBuffers.Arrays.Return(array);
    }

    [Fact]
    public async Task PipeReader_OverSegments_ReadsAWholeBodyAcrossMany()
    {
        var body = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        var reader = PipeReader.Create(new MemoryStream(body), new StreamPipeReaderOptions(pool: StreamBuffers.Segments, bufferSize: StreamBuffers.LargestBytes, minimumReadSize: 4096));
        var read = new List<byte>();
        while (true)
        {
            var result = await reader.ReadAsync(TestContext.Current.CancellationToken);
            foreach (var segment in result.Buffer)
            {
                read.AddRange(segment.ToArray());
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync();
        Assert.Equal(body, read);
    }

    private static byte[] ArrayOf(IMemoryOwner<byte> owner) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(owner.Memory, out var segment) ? segment.Array! : throw new InvalidOperationException("not an array");
}
