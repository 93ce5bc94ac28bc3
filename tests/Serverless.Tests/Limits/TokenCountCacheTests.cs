using Serverless.Relay.Limits;
using Xunit;

namespace Serverless.Tests.Limits;

public sealed class TokenCountCacheTests
{
    private static string Text(int length, int variant = 0) => $"{variant:D8} " + new string('x', length - 9);

    [Fact]
    public void GetOrCount_LongTextAgain_CountsItOnceAndAnswersTheSame()
    {
        var cache = new TokenCountCache();
        var calls = 0;
        var text = Text(TokenCountCache.MinLength);

        var first = cache.GetOrCount(text, t => ++calls * 1000 + t.Length);
        var second = cache.GetOrCount(new string(text.AsSpan()), _ => ++calls);

        Assert.Equal(1, calls);
        Assert.Equal(first, second);
    }

    [Fact]
    public void GetOrCount_TextsOfTheSameLength_KeepTheirOwnCounts()
    {
        var cache = new TokenCountCache();

        Assert.Equal(1, cache.GetOrCount(Text(1000, 1), _ => 1));
        Assert.Equal(2, cache.GetOrCount(Text(1000, 2), _ => 2));
        Assert.Equal(1, cache.GetOrCount(Text(1000, 1), _ => -1));
        Assert.Equal(2, cache.GetOrCount(Text(1000, 2), _ => -1));
    }

    [Theory]
    [InlineData(TokenCountCache.MinLength - 1)]
    [InlineData(TokenCountCache.MaxLength + 1)]
    public void GetOrCount_ShortOrHugeText_IsCountedEveryTimeAndNotHeld(int length)
    {
        var cache = new TokenCountCache();
        var calls = 0;
        var text = Text(length);

        cache.GetOrCount(text, _ => ++calls);
        cache.GetOrCount(text, _ => ++calls);

        Assert.Equal(2, calls);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void GetOrCount_ManyDistinctTexts_HoldsAtMostTwoGenerationsAndKeepsATextInUse()
    {
        var cache = new TokenCountCache();
        const int Length = 64 * 1024;
        var perGeneration = (int)(TokenCountCache.MaxChars / Length);
        var inUse = Text(Length, -1);
        var inUseCalls = 0;

        for (var i = 0; i < perGeneration * 5; i++)
        {
            cache.GetOrCount(Text(Length, i), _ => 1);
            cache.GetOrCount(inUse, _ => ++inUseCalls);
        }

        Assert.InRange(cache.Count, 1, 2 * (perGeneration + 1) + 1);
        Assert.Equal(1, inUseCalls);
    }

    [Fact]
    public void CountText_CachedOrNot_MatchesTheTokenizer()
    {
        var estimator = new TokenEstimator();
        var text = string.Join(' ', Enumerable.Range(0, 200).Select(i => $"word{i} 語{i}"));

        var first = estimator.CountText(text);
        var again = estimator.CountText(new string(text.AsSpan()));

        Assert.InRange(first, 400, 2000);
        Assert.Equal(first, again);
        Assert.Equal(Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding("o200k_base").CountTokens(text), again);
    }
}
