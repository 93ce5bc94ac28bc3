using System.Security.Cryptography;

namespace Serverless.Relay.Storage;

/// <summary>Random entity ids: a type prefix and 16 lowercase hex digits (64 random bits), e.g. <c>acct_3f9c0a17d2b4e680</c>.</summary>
internal static class StorageIds
{
    private const int HexLength = 16;

    public static string New(string prefix) => prefix + "_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(HexLength / 2));

    /// <summary>True when <paramref name="id"/> could have come from <see cref="New"/>; anything else is answered 404 unread.</summary>
    public static bool IsWellFormed(string prefix, ReadOnlySpan<char> id) =>
        id.Length == prefix.Length + 1 + HexLength
        && id.StartsWith(prefix, StringComparison.Ordinal)
        && id[prefix.Length] == '_'
        && !id[(prefix.Length + 1)..].ContainsAnyExcept(LowerHex);

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
}
