using System.Security.Cryptography;
using System.Text;
using Serverless.Relay.Audit;
using Xunit;

namespace Serverless.Tests.Audit;

/// <summary>The audit digest kept as bytes reads and writes the lowercase hex the audit rows and API have always held.</summary>
public sealed class Sha256DigestTests
{
    [Fact]
    public void Of_KnownInput_WritesTheStandardDigestInLowercaseHex()
    {
        var digest = Sha256Digest.Of(Encoding.ASCII.GetBytes("abc"));

        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", digest.ToString());
    }

    [Fact]
    public void Parse_StoredHex_RoundTripsAndEqualsTheDigestOfTheSameBytes()
    {
        var body = RandomNumberGenerator.GetBytes(1000);
        var stored = Convert.ToHexStringLower(SHA256.HashData(body));

        var parsed = Sha256Digest.Parse(stored);

        Assert.Equal(stored, parsed.ToString());
        Assert.Equal(Sha256Digest.Of(body), parsed);
        Assert.NotEqual(Sha256Digest.Of(body.AsSpan(1)), parsed);
        Assert.Equal(parsed, Sha256Digest.Parse(stored.ToUpperInvariant()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015")] // 62 digits
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015adff")] // 66 digits
    [InlineData("za7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")] // not hex
    public void Parse_NotADigest_Null(string? stored)
    {
        Assert.Null(Sha256Digest.Parse(stored));
    }
}
