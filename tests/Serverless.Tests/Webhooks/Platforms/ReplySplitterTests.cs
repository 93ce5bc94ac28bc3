using System.Text;
using Serverless.Webhooks.Platforms;
using Xunit;

namespace Serverless.Tests.Webhooks.Platforms;

public sealed class ReplySplitterTests
{
    private static int Chars(string text) => text.Length;

    private static int Utf8(string text) => Encoding.UTF8.GetByteCount(text);

    [Fact]
    public void Split_ShortText_OnePart()
    {
        Assert.Equal(["hello"], ReplySplitter.Split("  hello \n", 4096, Chars));
    }

    [Fact]
    public void Split_EmptyText_NoParts()
    {
        Assert.Empty(ReplySplitter.Split(" \n ", 4096, Chars));
    }

    [Fact]
    public void Split_Paragraphs_CutsAtParagraphBreakBeforeLineBreak()
    {
        var first = new string('a', 30) + "\n" + new string('b', 20);
        var second = new string('c', 40);
        var parts = ReplySplitter.Split(first + "\n\n" + second, 60, Chars);

        Assert.Equal([first, second], parts);
    }

    [Fact]
    public void Split_NoParagraph_CutsAtLineThenSentenceThenSpace()
    {
        Assert.Equal(["aaaa aaaa", "bbbb bbbb"], ReplySplitter.Split("aaaa aaaa\nbbbb bbbb", 12, Chars));
        Assert.Equal(["One two three.", "Four five six."], ReplySplitter.Split("One two three. Four five six.", 20, Chars));
        Assert.Equal(["alpha beta", "gamma delta"], ReplySplitter.Split("alpha beta gamma delta", 12, Chars));
    }

    [Fact]
    public void Split_CjkSentences_CutsAfterFullStop()
    {
        var parts = ReplySplitter.Split("第一句话在这里。第二句话也在这里。", 10, Chars);

        Assert.Equal(["第一句话在这里。", "第二句话也在这里。"], parts);
    }

    [Fact]
    public void Split_LongText_EveryPartWithinLimitAndOrderKept()
    {
        var words = Enumerable.Range(0, 3000).Select(i => "word" + i).ToArray();
        var text = string.Join(' ', words);

        var parts = ReplySplitter.Split(text, 4096, Chars);

        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, 4096));
        Assert.Equal(words, string.Join(' ', parts).Split(' '));
    }

    [Fact]
    public void Split_SurrogatePairsWithoutSpaces_NeverSplitsAPair()
    {
        var text = string.Concat(Enumerable.Repeat("😀", 10));

        var parts = ReplySplitter.Split(text, 5, Chars);

        Assert.All(parts, p =>
        {
            Assert.InRange(p.Length, 1, 5);
            Assert.False(char.IsHighSurrogate(p[^1]));
            Assert.False(char.IsLowSurrogate(p[0]));
        });
        Assert.Equal(text, string.Concat(parts));
    }

    [Fact]
    public void Split_WeComBytes_EveryPartWithin2048Utf8Bytes()
    {
        var text = string.Concat(Enumerable.Repeat("中文内容没有空格😀", 400));

        var parts = ReplySplitter.Split(text, 2048, Utf8);

        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.InRange(Encoding.UTF8.GetByteCount(p), 1, 2048));
        Assert.All(parts.SkipLast(1), p => Assert.InRange(Encoding.UTF8.GetByteCount(p), 2045, 2048));
        Assert.All(parts, p => Assert.DoesNotContain('\uFFFD', Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(p))));
        Assert.Equal(text, string.Concat(parts));
    }

    [Fact]
    public void Head_TextThatFits_Whole()
    {
        Assert.Equal("alpha beta", ReplySplitter.Head("alpha beta", head => Utf8(head) <= 10));
    }

    [Fact]
    public void Head_LongerText_LongestHeadThatFitsCutAtABoundary()
    {
        Assert.Equal("alpha beta", ReplySplitter.Head("alpha beta gamma", head => head.Length <= 13));
        Assert.Equal("One two three.", ReplySplitter.Head("One two three. Four five six.", head => head.Length <= 20));
    }

    [Fact]
    public void Head_NothingFits_Empty()
    {
        Assert.Equal("", ReplySplitter.Head("alpha", head => head.Length == 0));
    }

    [Fact]
    public void Head_MeasuredInBytes_NeverHalfACharacter()
    {
        var text = string.Concat(Enumerable.Repeat("😀", 100));

        var head = ReplySplitter.Head(text, h => Utf8(h) <= 39);

        Assert.Equal(string.Concat(Enumerable.Repeat("😀", 9)), head); // 36 bytes: a tenth would be 40
    }
}
