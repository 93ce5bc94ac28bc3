using System.Buffers;
using System.Text;
using Serverless.Relay.Buffers;
using Xunit;

namespace Serverless.Tests.Buffers;

public sealed class PooledBufferWriterTests
{
    [Fact]
    public void GetSpan_BeyondCapacity_KeepsWhatWasWritten()
    {
        using var writer = new PooledBufferWriter(16);
        var expected = new StringBuilder();
        for (var i = 0; i < 5_000; i++)
        {
            var piece = $"row {i};";
            expected.Append(piece);
            var span = writer.GetSpan(piece.Length);
            writer.Advance(Encoding.ASCII.GetBytes(piece, span));
        }

        Assert.Equal(expected.ToString(), Encoding.ASCII.GetString(writer.WrittenMemory.Span));
    }

    [Fact]
    public void Clear_AfterGrowing_StartsAgainInTheSameBuffer()
    {
        using var writer = new PooledBufferWriter(16);
        writer.Write(new byte[100]);
        var grown = writer.GetMemory().Length + writer.WrittenMemory.Length;

        writer.Clear();
        writer.Write("next"u8);

        Assert.Equal("next", Encoding.ASCII.GetString(writer.WrittenMemory.Span));
        Assert.Equal(grown, writer.GetMemory().Length + writer.WrittenMemory.Length);
    }

    [Fact]
    public void Advance_PastTheSpanGiven_Throws()
    {
        using var writer = new PooledBufferWriter(16);
        var free = writer.GetSpan(8).Length;

        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(free + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(-1));
    }

    [Fact]
    public void Dispose_Twice_LeavesNothingAndRefusesMore()
    {
        var writer = new PooledBufferWriter(16);
        writer.Advance(writer.GetSpan(4).Length);
        writer.Dispose();

        Assert.True(writer.WrittenMemory.IsEmpty);
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan());
        writer.Dispose();
    }
}
