using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Platforms.WeCom;

/// <summary>
/// WeCom's callback crypto (<see href="https://developer.work.weixin.qq.com/document/path/90968"/>):
/// <c>msg_signature = hex(SHA1(concat(sort([token, timestamp, nonce, encrypt]))))</c>; the payload is AES-256-CBC
/// with key = Base64(EncodingAESKey + "="), IV = the key's first 16 bytes, PKCS#7 padded to <b>32</b>-byte blocks, over
/// 16 random bytes ‖ 4-byte big-endian length ‖ message ‖ receiveId (the CorpID).
/// </summary>
internal static class WeComCrypto
{
    private const int BlockSize = 32;

    public static string Signature(string token, string timestamp, string nonce, string encrypted)
    {
        string[] parts = [token, timestamp, nonce, encrypted];
        Array.Sort(parts, StringComparer.Ordinal);
#pragma warning disable CA5350 // WeCom defines the signature as SHA-1; we verify what the platform sends, we do not choose it.
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(parts))));
#pragma warning restore CA5350
    }

    /// <summary>The key, or null when the EncodingAESKey is not 43 base64 characters.</summary>
    public static byte[]? KeyOf(string encodingAesKey)
    {
        try
        {
            var key = Convert.FromBase64String(encodingAesKey + "=");
            return key.Length == 32 ? key : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The message and the receiveId it was encrypted for, or null when it does not decrypt or unpad.</summary>
    public static (string Message, string ReceiveId)? Decrypt(string encrypted, byte[] key)
    {
        byte[] cipher;
        try
        {
            cipher = Convert.FromBase64String(encrypted);
        }
        catch (FormatException)
        {
            return null;
        }

        if (cipher.Length == 0 || cipher.Length % 16 != 0)
        {
            return null;
        }

        using var aes = Aes.Create();
        aes.Key = key;
        var plain = aes.DecryptCbc(cipher, key.AsSpan(0, 16), PaddingMode.None);

        // NOTE: padded to 32-byte blocks, so the standard 16-byte PKCS#7 unpadding would reject every message.
        var pad = plain[^1];
        if (pad is < 1 or > BlockSize || pad > plain.Length || plain.AsSpan(plain.Length - pad).IndexOfAnyExcept(pad) >= 0)
        {
            return null;
        }

        var content = plain.AsSpan(0, plain.Length - pad);
        if (content.Length < 20)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(content.Slice(16, 4));
        if (length < 0 || length > content.Length - 20)
        {
            return null;
        }

        var strict = new UTF8Encoding(false, true);
        try
        {
            return (strict.GetString(content.Slice(20, length)), strict.GetString(content[(20 + length)..]));
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>Encrypts as WeCom does: for tests and the simulated platform.</summary>
    public static string Encrypt(string message, string receiveId, byte[] key)
    {
        var body = Encoding.UTF8.GetBytes(message);
        var id = Encoding.UTF8.GetBytes(receiveId);
        var length = 20 + body.Length + id.Length;
        var pad = BlockSize - (length % BlockSize);
        var plain = new byte[length + pad];
        RandomNumberGenerator.Fill(plain.AsSpan(0, 16));
        BinaryPrimitives.WriteInt32BigEndian(plain.AsSpan(16, 4), body.Length);
        body.CopyTo(plain, 20);
        id.CopyTo(plain, 20 + body.Length);
        plain.AsSpan(length).Fill((byte)pad);
        using var aes = Aes.Create();
        aes.Key = key;
        return Convert.ToBase64String(aes.EncryptCbc(plain, key.AsSpan(0, 16), PaddingMode.None));
    }
}
