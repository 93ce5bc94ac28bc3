using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Relay.Secrets;

/// <summary>Why a stored secret could not be read.</summary>
internal enum SecretError
{
    None,
    /// <summary>Not in the <c>kid:base64</c> form.</summary>
    Malformed,
    /// <summary>Written with a kid that <c>RELAY_ENCRYPTION_KEYS</c> no longer lists.</summary>
    UnknownKeyId,
    /// <summary>The tag did not verify: altered, moved to another row, or the kid's key material changed.</summary>
    AuthenticationFailed,
}

/// <summary>
/// Encrypts secrets at rest with AES-256-GCM: <c>&lt;kid&gt;:&lt;base64(nonce|ciphertext|tag)&gt;</c>.
/// The kid and the secret's <em>scope</em> (table, partition, row, column) are the associated data, so a ciphertext
/// copied to another row, or relabelled with another kid, fails to decrypt instead of yielding another row's secret.
/// </summary>
internal sealed class SecretProtector(EncryptionKeyRing keys)
{
    private const int NonceSize = 12; // AesGcm.NonceByteSizes.MaxSize: the only size GCM handles without extra hashing.
    private const int TagSize = 16;

    /// <summary>The scope of a secret: a stable identity of where it is stored. The table's base name, not the prefixed one, so a prefix change keeps data readable.</summary>
    public static string ScopeOf(string table, string partitionKey, string rowKey, string column) =>
        string.Join('/', table, partitionKey, rowKey, column);

    public string Protect(string plaintext, string scope)
    {
        var kid = keys.CurrentKeyId;
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var payload = new byte[NonceSize + plain.Length + TagSize];
        var nonce = payload.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(keys.CurrentKey, TagSize))
        {
            aes.Encrypt(nonce, plain, payload.AsSpan(NonceSize, plain.Length), payload.AsSpan(NonceSize + plain.Length), AssociatedData(kid, scope));
        }

        CryptographicOperations.ZeroMemory(plain);
        return kid + ":" + Convert.ToBase64String(payload);
    }

    public bool TryUnprotect(string stored, string scope, [NotNullWhen(true)] out string? plaintext, out SecretError error)
    {
        plaintext = null;
        var colon = stored.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            error = SecretError.Malformed;
            return false;
        }

        var kid = stored[..colon];
        if (!keys.TryGetKey(kid, out var key))
        {
            error = SecretError.UnknownKeyId;
            return false;
        }

        var encoded = stored.AsSpan(colon + 1);
        var payload = new byte[Base64.GetMaxDecodedFromUtf8Length(encoded.Length)];
        if (!Convert.TryFromBase64Chars(encoded, payload, out var length) || length < NonceSize + TagSize)
        {
            error = SecretError.Malformed;
            return false;
        }

        var cipherLength = length - NonceSize - TagSize;
        var plain = new byte[cipherLength];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(
                payload.AsSpan(0, NonceSize),
                payload.AsSpan(NonceSize, cipherLength),
                payload.AsSpan(NonceSize + cipherLength, TagSize),
                plain,
                AssociatedData(kid, scope));
        }
        catch (AuthenticationTagMismatchException)
        {
            error = SecretError.AuthenticationFailed;
            return false;
        }

        plaintext = Encoding.UTF8.GetString(plain);
        CryptographicOperations.ZeroMemory(plain);
        error = SecretError.None;
        return true;
    }

    /// <summary>
    /// Encrypts bytes (an audit body) to <c>kidLength|kid|nonce|ciphertext|tag</c>: the same scheme and associated data
    /// as <see cref="Protect"/>, in binary, since a blob holds bytes rather than text.
    /// </summary>
    public byte[] ProtectBytes(ReadOnlySpan<byte> plain, string scope)
    {
        var kid = Encoding.ASCII.GetBytes(keys.CurrentKeyId);
        var header = 1 + kid.Length;
        var sealedBytes = new byte[header + NonceSize + plain.Length + TagSize];
        sealedBytes[0] = (byte)kid.Length;
        kid.CopyTo(sealedBytes, 1);
        var nonce = sealedBytes.AsSpan(header, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(keys.CurrentKey, TagSize);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(header + NonceSize, plain.Length), sealedBytes.AsSpan(header + NonceSize + plain.Length), AssociatedData(keys.CurrentKeyId, scope));
        return sealedBytes;
    }

    public bool TryUnprotectBytes(ReadOnlySpan<byte> sealedBytes, string scope, [NotNullWhen(true)] out byte[]? plain, out SecretError error)
    {
        plain = null;
        if (sealedBytes.Length < 1 || sealedBytes.Length < 1 + sealedBytes[0] + NonceSize + TagSize || sealedBytes[0] == 0)
        {
            error = SecretError.Malformed;
            return false;
        }

        var header = 1 + sealedBytes[0];
        var kid = Encoding.ASCII.GetString(sealedBytes[1..header]);
        if (!keys.TryGetKey(kid, out var key))
        {
            error = SecretError.UnknownKeyId;
            return false;
        }

        var cipherLength = sealedBytes.Length - header - NonceSize - TagSize;
        var output = new byte[cipherLength];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(
                sealedBytes.Slice(header, NonceSize),
                sealedBytes.Slice(header + NonceSize, cipherLength),
                sealedBytes.Slice(header + NonceSize + cipherLength, TagSize),
                output,
                AssociatedData(kid, scope));
        }
        catch (AuthenticationTagMismatchException)
        {
            error = SecretError.AuthenticationFailed;
            return false;
        }

        plain = output;
        error = SecretError.None;
        return true;
    }

    private static byte[] AssociatedData(string kid, string scope) => Encoding.UTF8.GetBytes(kid + "\n" + scope);
}
