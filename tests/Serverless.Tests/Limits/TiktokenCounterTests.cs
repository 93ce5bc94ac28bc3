using System.Text;
using Microsoft.ML.Tokenizers;
using Serverless.Relay.Limits;
using Xunit;

namespace Serverless.Tests.Limits;

/// <summary>
/// The relay's own o200k_base counter against the tokenizer library it replaced (Microsoft.ML.Tokenizers, the
/// reference): the same count for every kind of text.
/// </summary>
public sealed class TiktokenCounterTests
{
    private static readonly Lazy<TiktokenCounter> Counter = new(TiktokenCounter.O200kBase);

    private static readonly (string Kind, string Text)[] Samples =
    [
        ("empty", ""),
        ("prose", "The quick brown fox jumps over the lazy dog. It wasn't the dog's fault; they'd been told it'll rain."),
        ("shouted contractions", "I'M SURE THEY'RE HERE. WE'VE SEEN IT'S TRUE, HE'D SAID, YOU'LL SEE."),
        ("code", "public static int Add(int a, int b)\n{\n    return a + b; // sum\n}\n\tif (x != null && y >= 10) { z++; }"),
        ("python", "def main():\n    for i in range(10):\n        print(f\"{i:03d}\")\n\n\nif __name__ == '__main__':\n    main()\n"),
        ("json", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7,\"n\":1}"),
        ("numbers", "3.14159265358979 1234567890 000123 1,000,000 -42 +7e10 0x1F 2026-12-04T19:28:41Z"),
        ("whitespace", "  leading\t\ttabs\r\nwindows\r\n\r\n\nmixed   \n   \n\ttrailing   "),
        ("only spaces", "          "),
        ("newlines", "\n\n\n\r\r\n"),
        ("chinese", "你好，世界！今天的天气怎么样？我们去公园散步吧。"),
        ("japanese", "こんにちは世界。カタカナとひらがな、漢字を混ぜた文章です。"),
        ("korean", "안녕하세요 세계! 오늘 날씨가 좋네요."),
        ("arabic", "مرحبا بالعالم، كيف حالك اليوم؟"),
        ("hindi", "नमस्ते दुनिया, आप कैसे हैं?"),
        ("russian", "Привет, мир! Съешь же ещё этих мягких французских булок."),
        ("combining marks", "Ame\u0301lie cafe\u0301 nai\u0308ve Z\u0335\u0321a\u0337l\u0334g\u0336o"),
        ("emoji", "👋 Hello 🌍! 👨‍👩‍👧‍👦 family, 🇫🇷 flag, ❤️ heart, 🏳️‍🌈, 1️⃣ keycap"),
        ("lone surrogates", "a\uD800b \uDC00c \uD83D"),
        ("special tokens", "before<|endoftext|>after <|endofprompt|> and <|notspecial|> <| |> <|endoftext"),
        ("adjacent special tokens", "<|endoftext|><|endoftext|><|endofprompt|>"),
        ("url", "https://example.com/path/to/resource?query=value&other=123#fragment"),
        ("base64", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
        ("markdown", "| a | b |\n|---|---|\n| **1** | _2_ |\n\n- [x] done\n- [ ] todo\n\n```csharp\nvar x = 1;\n```"),
        ("punctuation runs", "!!!??? ... --- *** /// \\\\ ''' \"\"\" ;;; ::: @@@ ### $$$ %%% ^^^ &&& ~~~ ``` ||| <<< >>>"),
        ("mixed scripts", "Hello你好Привет مرحبا123abcDEF"),
    ];

    public static TheoryData<string, string> Texts() => new(Samples.Select(sample => (sample.Kind, sample.Text)));

    [Theory]
    [MemberData(nameof(Texts))]
    public void CountTokens_KindOfText_CountsAsTheTokenizerLibrary(string kind, string text)
    {
        var expected = FreshReference().CountTokens(text);
        var actual = Counter.Value.CountTokens(text);

        Assert.True(expected == actual, $"{kind}: library {expected}, relay {actual}");
    }

    [Fact]
    public void CountTokens_RandomTextsFromEveryCategory_CountAsTheTokenizerLibrary()
    {
        // Characters from each class the pattern tells apart, so the pieces and their merges vary as much as they can.
        string[] alphabet =
        [
            "a", "b", "e", "t", "x", "A", "B", "Z", "É", "ß", "'", "s", "t", "re", "ll", "0", "7", "9", " ", " ", "  ", "\t",
            "\n", "\r\n", ".", ",", "!", "?", "-", "/", "\\", "\"", "{", "}", "<|", "|>", "中", "文", "ж", "Я", "ع", "ह", "\u0301",
            "😀", "👍🏽", "\u200d", "\uD800", "\uDC00", "_", "#", "$", "~", "endoftext", "<|endoftext|>",
        ];
        var reference = FreshReference();
        var random = new Random(20261204);
        var mismatches = new List<string>();
        for (var i = 0; i < 3000; i++)
        {
            var text = new StringBuilder();
            var length = random.Next(1, 60);
            for (var j = 0; j < length; j++)
            {
                text.Append(alphabet[random.Next(alphabet.Length)]);
            }

            var value = text.ToString();
            var expected = reference.CountTokens(value);
            var actual = Counter.Value.CountTokens(value);
            if (expected != actual)
            {
                mismatches.Add($"{Escape(value)}: library {expected}, relay {actual}");
            }
        }

        Assert.Empty(mismatches);
    }

    [Fact]
    public void CountTokens_SameTextAfterThousandsOfOthers_CountsTheSame()
    {
        // What the library's piece cache did not do (FreshReference): a count depends on the text alone.
        var counter = TiktokenCounter.O200kBase();
        var text = string.Concat(Samples.Select(sample => sample.Text));
        var first = counter.CountTokens(text);
        var random = new Random(7);
        for (var i = 0; i < 3000; i++)
        {
            counter.CountTokens(new string([.. Enumerable.Range(0, 40).Select(_ => (char)random.Next(0x20, 0xE000))]));
        }

        Assert.Equal(first, counter.CountTokens(text));
        Assert.Equal(FreshReference().CountTokens(text), first);
    }

    [Theory]
    [InlineData("a", 20_000)]
    [InlineData("ab", 30_000)]
    [InlineData("€", 5_000)]
    [InlineData("!?", 10_000)]
    public void CountTokens_LongPieceWithoutSpaces_CountsAsTheTokenizerLibrary(string unit, int repeats)
    {
        // One regex piece tens of kilobytes long: merged through the heap, not by rescanning every pair.
        var text = string.Concat(Enumerable.Repeat(unit, repeats));

        Assert.Equal(FreshReference().CountTokens(text), Counter.Value.CountTokens(text));
    }

    [Fact]
    public void CountTokens_LongRandomLowercaseRun_CountsAsTheTokenizerLibrary()
    {
        var random = new Random(42);
        var text = new string([.. Enumerable.Range(0, 50_000).Select(_ => (char)('a' + random.Next(26)))]);

        Assert.Equal(FreshReference().CountTokens(text), Counter.Value.CountTokens(text));
    }

    [Fact]
    public void LoadO200kBase_Vocabulary_HasEveryTokenInAFewMegabytes()
    {
        var ranks = TiktokenRanks.LoadO200kBase();

        // 199,998 ordinary tokens: every byte alone, then merges.
        Assert.Equal(199_998, ranks.Count);
        Assert.Equal(0, ranks.RankOf("!"u8));
        Assert.Equal(24912, ranks.RankOf("hello"u8));
        Assert.Equal(2375, ranks.RankOf(" world"u8));
        Assert.Equal(-1, ranks.RankOf("hello world, this is not one token"u8));
        Assert.InRange(ranks.HeldBytes, 1_000_000, 6_000_000);
    }

    [Fact]
    public void CountTokens_SmallVocabulary_MergesTheLowestRankedPairFirst()
    {
        // Every single byte, then "bc", "ab", "cd": in "abcd" the lowest pair is "bc", which leaves "a", "bc", "d" and
        // no pair that is a token: three. Merging "ab" first would give "ab", "cd": two.
        var counter = new TiktokenCounter(SmallVocabulary("bc", "ab", "cd"));

        Assert.Equal(3, counter.CountTokens("abcd"));
        Assert.Equal(2, counter.CountTokens("abab"));
    }

    [Fact]
    public void CountTokens_SmallVocabularyWithWholeMerges_EndsWithOneToken()
    {
        var counter = new TiktokenCounter(SmallVocabulary("ab", "abab", "ababab"));

        Assert.Equal(1, counter.CountTokens("ababab"));
        Assert.Equal(2, counter.CountTokens("ababa"));
    }

    [Theory]
    [InlineData("IQ==\nIg==\n")]
    [InlineData("Capacity: 2\nIQ==\nnot base64!\n")]
    public void Read_MalformedVocabulary_IsRefused(string vocabulary)
    {
        Assert.Throws<InvalidDataException>(() => TiktokenRanks.Read(new MemoryStream(Encoding.ASCII.GetBytes(vocabulary))));
    }

    /// <summary>
    /// A new library tokenizer for each test: its piece cache was seen to change a count after thousands of texts with
    /// lone surrogates (a fixed 104 KB text: 30,304 tokens, then 30,310; a new instance says 30,304 again).
    /// </summary>
    private static TiktokenTokenizer FreshReference() => TiktokenTokenizer.CreateForEncoding("o200k_base");

    private static TiktokenRanks SmallVocabulary(params string[] merges)
    {
        var lines = new StringBuilder($"Capacity: {256 + merges.Length}\n");
        for (var b = 0; b < 256; b++)
        {
            lines.Append(Convert.ToBase64String([(byte)b])).Append('\n');
        }

        foreach (var merge in merges)
        {
            lines.Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(merge))).Append('\n');
        }

        return TiktokenRanks.Read(new MemoryStream(Encoding.ASCII.GetBytes(lines.ToString())));
    }

    private static string Escape(string text) =>
        string.Concat(text.Select(c => c is < ' ' or >= '\uD800' and <= '\uDFFF' ? $"\\u{(int)c:X4}" : c.ToString()));
}
