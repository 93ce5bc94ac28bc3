using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
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

    /// <summary>A body the reader reads is read in place too, to the canonical request's count.</summary>
    public static void AssertCountedAlike(IChatFormat format, string json, string? modelFromPath = null)
    {
        var (inPlace, tallied, canonical) = Both(format, json, modelFromPath);

        Assert.True(inPlace);
        Assert.True(canonical > 3, "the canonical count includes the prompt's texts");
        Assert.Equal(canonical, tallied);
    }

    /// <summary>A body the reader refuses is left to it: the in-place reading declines.</summary>
    public static void AssertLeftToTheReader(IChatFormat format, string json, string? modelFromPath = null)
    {
        var (inPlace, _, canonical) = Both(format, json, modelFromPath);

        Assert.False(inPlace);
        Assert.Equal(-1, canonical);
    }

    /// <summary>A generated body as JSON, its text escaped to ASCII or written as raw UTF-8 (both must count alike).</summary>
    public static string Written(JsonObject body, Random random) =>
        body.ToJsonString(new JsonSerializerOptions { Encoder = random.Next(2) == 0 ? JavaScriptEncoder.Default : JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>
    /// Generates <paramref name="count"/> bodies from a fixed seed (the same every run) and holds each to: read in place
    /// exactly when the reader reads it, with the same count; and both kinds, read and refused, well represented.
    /// </summary>
    public static void AssertAgreeOnGenerated(IChatFormat format, Func<Random, string> generate, int count, string? modelFromPath = null)
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

        Assert.InRange(read, count / 4, count * 11 / 12);
    }

    /// <summary>A text as a JSON string.</summary>
    public static string Quoted(string text) => JsonSerializer.Serialize(text);

    public static T Pick<T>(Random random, params T[] choices) => choices[random.Next(choices.Length)];

    /// <summary>A generated message content: now and then null or a number (which readers refuse), often a text, else an array of <paramref name="part"/>s.</summary>
    public static JsonNode? Content(Random random, Func<Random, JsonNode> part, int minParts = 0)
    {
        switch (random.Next(40))
        {
            case 0:
                return null;
            case 1:
                return 42;
            case < 21:
                return Pick(random, Texts);
        }

        var parts = new JsonArray();
        for (var n = random.Next(minParts, 4); n > 0; n--)
        {
            parts.Add(part(random));
        }

        return parts;
    }
}
