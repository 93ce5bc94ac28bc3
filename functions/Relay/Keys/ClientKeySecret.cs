using System.Security.Cryptography;
using System.Text;

namespace Serverless.Relay.Keys;

/// <summary>Making relay keys and hashing presented ones. A key is <c>sk-relay-</c> + 43 base64url characters (32 random bytes).</summary>
internal static class ClientKeySecret
{
    public const string Prefix = "sk-relay-";
    public const int RandomBytes = 32;
    public const int Length = 52; // Prefix (9) + base64url of 32 bytes without padding (43)
    public const int HashHexLength = 64;

    /// <summary>A new key: the plaintext (shown once), its hash (stored) and its hint.</summary>
    public static (string Plaintext, string Hash, string Hint) Generate()
    {
        Span<byte> random = stackalloc byte[RandomBytes];
        RandomNumberGenerator.Fill(random);
        var plaintext = Prefix + Base64UrlEncode(random);
        CryptographicOperations.ZeroMemory(random);
        return (plaintext, Hash(plaintext), HintOf(plaintext));
    }

    /// <summary>True when <paramref name="presented"/> has the shape of a relay key; anything else cannot be one, so is not looked up.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> presented) =>
        presented.Length == Length
        && presented.StartsWith(Prefix, StringComparison.Ordinal)
        && !presented[Prefix.Length..].ContainsAnyExcept(Base64UrlChars);

    private static readonly System.Buffers.SearchValues<char> Base64UrlChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>Lowercase hex SHA-256 of the key's UTF-8 bytes, written without allocating.</summary>
    public static void Hash(ReadOnlySpan<char> key, Span<char> hexDestination)
    {
        Span<byte> utf8 = stackalloc byte[Length * 3];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..length], hash);
        Convert.TryToHexStringLower(hash, hexDestination, out _);
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static string HintOf(string plaintext) => string.Concat(plaintext.AsSpan(0, Prefix.Length + 4), "…", plaintext.AsSpan(plaintext.Length - 4));

    private static string Base64UrlEncode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
