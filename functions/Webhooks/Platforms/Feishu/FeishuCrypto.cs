using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Platforms.Feishu;

/// <summary>
/// Feishu/Lark event security (<see href="https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/encrypt-key-encryption-configuration-case"/>):
/// the signature is plain SHA-256 (not HMAC) of timestamp + nonce + encryptKey + raw body; an encrypted body is
/// AES-256-CBC with key SHA-256(encryptKey) and the IV in the first 16 bytes of the base64-decoded buffer.
/// </summary>
internal static class FeishuCrypto
{
    public static string Signature(string timestamp, string nonce, string encryptKey, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp + nonce + encryptKey);
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return Convert.ToHexStringLower(SHA256.HashData(message));
    }

    /// <summary>The plaintext, or null when the text is not base64 or does not decrypt with this key.</summary>
    public static string? Decrypt(string encrypted, string encryptKey)
    {
        byte[] buffer;
        try
        {
            buffer = Convert.FromBase64String(encrypted);
        }
        catch (FormatException)
        {
            return null;
        }

        if (buffer.Length < 32 || buffer.Length % 16 != 0)
        {
            return null;
        }

        using var aes = Aes.Create();
        aes.Key = SHA256.HashData(Encoding.UTF8.GetBytes(encryptKey));
        try
        {
            var plain = aes.DecryptCbc(buffer.AsSpan(16), buffer.AsSpan(0, 16), PaddingMode.PKCS7);
            return new UTF8Encoding(false, true).GetString(plain);
        }
        catch (Exception e) when (e is CryptographicException or DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>Encrypts as Feishu does (random IV first): for tests and the simulated platform.</summary>
    public static string Encrypt(string plaintext, string encryptKey)
    {
        using var aes = Aes.Create();
        aes.Key = SHA256.HashData(Encoding.UTF8.GetBytes(encryptKey));
        var iv = RandomNumberGenerator.GetBytes(16);
        var cipher = aes.EncryptCbc(Encoding.UTF8.GetBytes(plaintext), iv, PaddingMode.PKCS7);
        return Convert.ToBase64String([.. iv, .. cipher]);
    }
}
