using System.Buffers.Text;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Secrets;

/// <summary>The parsed encryption keys, by kid, and the kid that new secrets are written with.</summary>
internal sealed class EncryptionKeyRing
{
    public const int KeySize = 32;

    private readonly Dictionary<string, byte[]> _keys;

    private EncryptionKeyRing(Dictionary<string, byte[]> keys, string currentKeyId)
    {
        _keys = keys;
        CurrentKeyId = currentKeyId;
    }

    public EncryptionKeyRing(IOptions<SecretOptions> options)
    {
        var errors = new List<string>();
        var parsed = TryParse(options.Value.EncryptionKeys, options.Value.EncryptionKeyId, errors)
            ?? throw new OptionsValidationException(nameof(SecretOptions), typeof(SecretOptions), errors);
        _keys = parsed._keys;
        CurrentKeyId = parsed.CurrentKeyId;
    }

    public string CurrentKeyId { get; }

    public byte[] CurrentKey => _keys[CurrentKeyId];

    public bool TryGetKey(string keyId, out byte[] key) => _keys.TryGetValue(keyId, out key!);

    /// <summary>Parses <c>kid=base64;…</c>, adding one message per problem to <paramref name="errors"/>. Never includes key material in a message.</summary>
    public static EncryptionKeyRing? TryParse(string? keys, string? currentKeyId, List<string> errors)
    {
        var start = errors.Count;
        if (string.IsNullOrWhiteSpace(keys))
        {
            errors.Add($"{SecretOptions.KeysSetting} is not set: set it to kid=<base64 of 32 random bytes>, e.g. k1=<output of `openssl rand -base64 32`>.");
            return null;
        }

        var parsed = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string? first = null;
        var position = 0;
        foreach (var part in keys.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            position++;
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var kid = equals > 0 ? part[..equals].Trim() : "";
            if (kid.Length == 0 || kid.Length > 32 || !kid.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                errors.Add($"{SecretOptions.KeysSetting}: entry {position} must read kid=<base64>, the kid made of letters, digits, '-' or '_' (at most 32).");
                continue;
            }

            var material = part[(equals + 1)..].Trim();
            var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(material.Length)];
            if (!Convert.TryFromBase64String(material, bytes, out var written) || written != KeySize)
            {
                errors.Add($"{SecretOptions.KeysSetting}: key '{kid}' must be the base64 of exactly {KeySize} bytes.");
                continue;
            }

            if (!parsed.TryAdd(kid, bytes[..KeySize]))
            {
                errors.Add($"{SecretOptions.KeysSetting}: key '{kid}' is listed twice.");
                continue;
            }

            first ??= kid;
        }

        if (position == 0)
        {
            errors.Add($"{SecretOptions.KeysSetting} is not set: set it to kid=<base64 of 32 random bytes>, e.g. k1=<output of `openssl rand -base64 32`>.");
        }

        var current = string.IsNullOrWhiteSpace(currentKeyId) ? first : currentKeyId.Trim();
        if (current is not null && parsed.Count > 0 && !parsed.ContainsKey(current))
        {
            errors.Add($"{SecretOptions.KeyIdSetting} is '{current}', which {SecretOptions.KeysSetting} does not list.");
        }

        return errors.Count == start && current is not null ? new EncryptionKeyRing(parsed, current) : null;
    }
}
