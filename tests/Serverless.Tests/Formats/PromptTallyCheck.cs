using System.Text.Json;
using Serverless.Relay.Formats;
using Serverless.Relay.Limits;
using Xunit;

namespace Serverless.Tests.Formats;

/// <summary>A format's prompt read in place (<see cref="IChatFormat.TryTallyPrompt"/>) against its canonical request's count.</summary>
internal static class PromptTallyCheck
{
    public static readonly TokenEstimator Estimator = new();

    /// <summary>Long enough for the token cache, with escapes, quotes, accents, CJK and a surrogate pair.</summary>
    public static readonly string LongText = string.Join(' ', Enumerable.Range(0, 60).Select(i => $"line {i}:\n\t\"quoted\" café 語{i} 😀"));

    /// <summary>Texts a generated body picks from: empty, short, escaped, special tokens, and long.</summary>
    public static readonly string[] Texts =
    [
        "hi", "", "Weather in Paris?", "tab\tand\nnewline", "emoji 😀 and café", "<|endoftext|> special", "\"quoted\" \\ backslash",
        LongText, LongText + " variant",
    ];

    /// <summary>Whether the body was read in place, its count so, and the canonical request's count (-1 when the reader refuses the body).</summary>
    /// <param name="modelFromPath">The model in the URL, for a format that takes it from there (Gemini).</param>
    public static (bool InPlace, int Tallied, int Canonical) Both(IChatFormat format, string json, string? modelFromPath = null)
    {
        using var document = JsonDocument.Parse(json);
        var tally = Estimator.Tally();
        var inPlace = format.TryTallyPrompt(document.RootElement, tally);
        var canonical = format.ReadRequest(document.RootElement, modelFromPath, stream: false);
        return (inPlace, tally.Total, canonical.Value is { } request ? Estimator.Count(request) : -1);
    }

    /// <summary>
    /// Generates <paramref name="count"/> bodies from a fixed seed (the same every run) and holds each to: read in place
    /// exactly when the reader reads it, with the same count. Returns how many were read.
    /// </summary>
    public static int AssertAgreeOnGenerated(IChatFormat format, Func<Random, string> generate, int count, string? modelFromPath = null)
    {
        var random = new Random(20261205);
        var read = 0;
        for (var i = 0; i < count; i++)
        {
            var json = generate(random);
            var (inPlace, tallied, canonical) = Both(format, json, modelFromPath);

            Assert.True(inPlace == canonical >= 0, $"in place {inPlace}, canonical {canonical}: {json}");
            if (inPlace)
            {
                Assert.True(tallied == canonical, $"tallied {tallied}, canonical {canonical}: {json}");
                read++;
            }
        }

        return read;
    }

    public static T Pick<T>(Random random, params T[] choices) => choices[random.Next(choices.Length)];
}
