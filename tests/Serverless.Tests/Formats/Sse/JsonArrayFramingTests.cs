using System.Buffers;
using System.Text;
using Serverless.Relay.Relaying;
using Xunit;

namespace Serverless.Tests.Formats.Sse;

public sealed class JsonArrayFramingTests
{
    private static void Write(IBufferWriter<byte> writer, string text) => writer.Write(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Commit_FramesArriveInPieces_EachCompleteFrameBecomesOneElement()
    {
        var output = new ArrayBufferWriter<byte>();
        var framing = new JsonArrayFraming(output);

        Write(framing, "data: {\"a\":1}\r\n\r\ndata: {\"b\"");
        framing.Commit();
        Assert.Equal("[{\"a\":1}", Encoding.UTF8.GetString(output.WrittenSpan));

        Write(framing, ":2}\n\n: comment\n\n");
        framing.Commit();
        framing.Complete();

        Assert.Equal("[{\"a\":1},\r\n{\"b\":2}]", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Complete_NothingWritten_EmptyArray()
    {
        var output = new ArrayBufferWriter<byte>();
        new JsonArrayFraming(output).Complete();

        Assert.Equal("[]", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Complete_LastFrameWithoutBlankLine_StillWritten()
    {
        var output = new ArrayBufferWriter<byte>();
        var framing = new JsonArrayFraming(output);
        Write(framing, "data: {\"error\":{\"code\":502}}");

        framing.Complete();

        Assert.Equal("[{\"error\":{\"code\":502}}]", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Complete_UnframedJsonLineLast_IsTheLastElement()
    {
        var output = new ArrayBufferWriter<byte>();
        var framing = new JsonArrayFraming(output);
        Write(framing, "data: {\"a\":1}\n\n{\"error\":{\"code\":502}}\n");
        framing.Commit();

        framing.Complete();

        Assert.Equal("[{\"a\":1},\r\n{\"error\":{\"code\":502}}]", Encoding.UTF8.GetString(output.WrittenSpan));
    }
}
