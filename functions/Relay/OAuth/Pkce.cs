using System.Security.Cryptography;
using System.Text;

namespace Serverless.Relay.OAuth;

/// <summary>Proof Key for Code Exchange, <see href="https://www.rfc-editor.org/rfc/rfc7636">RFC 7636</see>, S256 only.</summary>
internal static class Pkce
{
    public const string Method = "S256";

    /// <summary>
    /// A code verifier: 32 random bytes, base64url without padding, so 43 characters of the unreserved set
    /// (RFC 7636 §4.1 asks for 43–128; 256 bits of entropy is what its §7.1 recommends).
    /// </summary>
    public static string NewVerifier() => Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>An opaque <c>state</c>: 32 random bytes, base64url. It is also the pending authorization's row key.</summary>
    public static string NewState() => Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary><c>BASE64URL(SHA256(ASCII(verifier)))</c> (RFC 7636 §4.2).</summary>
    public static string Challenge(string verifier) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    internal static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
