using System.Text.RegularExpressions;
using Serverless.Relay.Keys;
using Xunit;

namespace Serverless.Tests.Keys;

public sealed class ClientKeyTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ClientKey Key(string[] models, DateTimeOffset? expiresAt = null) => new()
    {
        Id = "key_0000000000000001",
        Name = "test",
        Models = models,
        ExpiresAt = expiresAt,
        CreatedAt = Now,
        Hint = "sk-relay-AAAA…AAAA",
    };

    [Theory]
    [InlineData(new string[0], "anything", true)]
    [InlineData(new[] { "gpt-4o*" }, "gpt-4o-mini", true)]
    [InlineData(new[] { "gpt-4o*" }, "claude-sonnet-4", false)]
    [InlineData(new[] { "gpt-4o", "claude-*" }, "Claude-Sonnet-4", true)]
    public void AllowsModel_Patterns_MatchAsGlobs(string[] models, string model, bool expected) =>
        Assert.Equal(expected, Key(models).AllowsModel(model));

    [Theory]
    [InlineData(null, false)]
    [InlineData(1.0, false)]
    [InlineData(0.0, true)]
    [InlineData(-1.0, true)]
    public void IsExpired_RelativeToExpiry_TrueFromTheInstantOn(double? secondsLeft, bool expected) =>
        Assert.Equal(expected, Key([], secondsLeft is { } s ? Now.AddSeconds(s) : null).IsExpired(Now));

    [Fact]
    public void Generate_NewKey_HasPrefixBase64UrlBodyHashAndHint()
    {
        var (plaintext, hash, hint) = ClientKeySecret.Generate();

        Assert.Matches(new Regex("^sk-relay-[A-Za-z0-9_-]{43}$"), plaintext);
        Assert.True(ClientKeySecret.IsWellFormed(plaintext));
        Assert.Matches(new Regex("^[0-9a-f]{64}$"), hash);
        Assert.Equal(plaintext[..13] + "…" + plaintext[^4..], hint);
        Span<char> spanHash = stackalloc char[64];
        ClientKeySecret.Hash(plaintext, spanHash);
        Assert.Equal(hash, spanHash.ToString());
        Assert.NotEqual(plaintext, ClientKeySecret.Generate().Plaintext);
    }

    [Theory]
    [InlineData("")]
    [InlineData("sk-relay-short")]
    [InlineData("sk-other-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("sk-relay-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+")]
    public void IsWellFormed_NotARelayKey_False(string presented) => Assert.False(ClientKeySecret.IsWellFormed(presented));
}
