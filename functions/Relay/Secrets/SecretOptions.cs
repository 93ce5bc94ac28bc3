using Microsoft.Extensions.Options;

namespace Serverless.Relay.Secrets;

/// <summary>The keys that encrypt upstream secrets at rest. Bound from flat app settings, checked at start-up.</summary>
internal sealed class SecretOptions
{
    public const string KeysSetting = "RELAY_ENCRYPTION_KEYS";
    public const string KeyIdSetting = "RELAY_ENCRYPTION_KEY_ID";

    /// <summary><c>kid1=&lt;base64 of 32 bytes&gt;;kid2=&lt;base64&gt;</c>. Old kids stay listed so their data stays readable.</summary>
    public string? EncryptionKeys { get; set; }

    /// <summary>The kid new secrets are written with; default: the first listed.</summary>
    public string? EncryptionKeyId { get; set; }
}

internal sealed class SecretOptionsValidator : IValidateOptions<SecretOptions>
{
    public ValidateOptionsResult Validate(string? name, SecretOptions options)
    {
        var errors = new List<string>();
        _ = EncryptionKeyRing.TryParse(options.EncryptionKeys, options.EncryptionKeyId, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
