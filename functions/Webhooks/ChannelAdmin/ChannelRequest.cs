using System.Text.Json;
using Serverless.Relay.Audit;
using Serverless.Relay.Admin;
using Serverless.Relay.Keys;
using Serverless.Relay.Storage;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.ChannelAdmin;

/// <summary>The body of <c>POST /api/admin/channels</c> (every required field) or <c>PATCH /api/admin/channels/{id}</c> (any subset).</summary>
internal sealed record ChannelRequest
{
    public const int MaxModelLength = 200;
    public const int MaxSystemPromptLength = 20_000;
    public const int MaxCredentialLength = 4096;

    public static readonly string PlatformMessage = "platform must be one of: " + ChannelPlatforms.WireNames;

    public Optional<ChannelPlatform> Platform { get; init; }
    public Optional<string> Name { get; init; }
    public Optional<string> Model { get; init; }
    public Optional<string?> SystemPrompt { get; init; }
    public Optional<string?> KeyId { get; init; }
    public Optional<KeyLimitsPatch> PerUserLimits { get; init; }
    public Optional<AuditMode> Audit { get; init; }

    /// <summary>Null: back to the platform's default.</summary>
    public Optional<Uri?> ApiBaseUrl { get; init; }
    public Optional<bool> Enabled { get; init; }

    /// <summary>The credentials sent, by name; a null value removes an optional credential (PATCH).</summary>
    public Optional<IReadOnlyDictionary<string, string?>> Credentials { get; init; }

    /// <summary>Reads every field, adding one error per bad field. Credential names are checked against the platform by <see cref="CheckCredentials"/>.</summary>
    public static ChannelRequest Parse(JsonElement body, FieldErrors errors, bool creating) => new()
    {
        Platform = ParsePlatform(body, errors, creating),
        Name = AdminFields.Name(body, errors, required: creating),
        Model = ParseModel(body, errors, creating),
        SystemPrompt = AdminFields.NullableString(body, "systemPrompt", errors, MaxSystemPromptLength, $"systemPrompt must be a non-empty string of at most {MaxSystemPromptLength} characters"),
        KeyId = ParseKeyId(body, errors, creating),
        PerUserLimits = ParsePerUserLimits(body, errors),
        Audit = AdminFields.Audit(body, errors),
        ApiBaseUrl = ParseApiBaseUrl(body, errors),
        Enabled = AdminFields.Enabled(body, errors),
        Credentials = ParseCredentials(body, errors, creating),
    };

    /// <summary>The channel after this PATCH: <paramref name="current"/> with the fields that were sent.</summary>
    public Channel ApplyTo(Channel current)
    {
        var credentials = new Dictionary<string, string>(current.Credentials, StringComparer.Ordinal);
        foreach (var (name, value) in Credentials.Or(new Dictionary<string, string?>()))
        {
            if (value is null)
            {
                credentials.Remove(name);
            }
            else
            {
                credentials[name] = value;
            }
        }

        return current with
        {
            Name = Name.Or(current.Name),
            Model = Model.Or(current.Model),
            SystemPrompt = SystemPrompt.Or(current.SystemPrompt),
            PerUserLimits = PerUserLimits.IsSet ? current.PerUserLimits.Merge(PerUserLimits.Value) : current.PerUserLimits,
            ApiBaseUrl = ApiBaseUrl.IsSet ? ApiBaseUrl.Value ?? ChannelPlatforms.Of(current.Platform).DefaultApiBaseUrl : current.ApiBaseUrl,
            Enabled = Enabled.Or(current.Enabled),
            Audit = Audit.Or(current.Audit),
            Credentials = credentials,
        };
    }

    /// <summary>
    /// Checks the credentials sent against <paramref name="platform"/>: no unknown name, no required one removed, and,
    /// when <paramref name="complete"/> (a creation, or the merged result of a PATCH), every required one present.
    /// </summary>
    public static void CheckCredentials(ChannelPlatform platform, IReadOnlyDictionary<string, string?> sent, IReadOnlyDictionary<string, string>? merged, FieldErrors errors)
    {
        foreach (var (name, value) in sent)
        {
            if (errors.Has("credentials." + name))
            {
                continue;
            }

            if (!platform.Accepts(name))
            {
                errors.Add("credentials." + name, $"credentials.{name} is not a {platform.WireName} credential; known: {string.Join(", ", platform.RequiredCredentials.Concat(platform.OptionalCredentials))}");
            }
            else if (value is null && platform.RequiredCredentials.Contains(name, StringComparer.Ordinal))
            {
                errors.Add("credentials." + name, $"credentials.{name} is required for {platform.WireName}");
            }
        }

        var present = merged ?? sent.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!, StringComparer.Ordinal);
        foreach (var name in platform.RequiredCredentials)
        {
            if (!present.ContainsKey(name) && !errors.Has("credentials." + name))
            {
                errors.Add("credentials." + name, $"credentials.{name} is required for {platform.WireName}");
            }
        }

        if (platform.Platform == ImPlatform.WeCom && sent.TryGetValue("encodingAesKey", out var aesKey) && aesKey is not null
            && aesKey.Length != ChannelPlatforms.WeComEncodingAesKeyLength)
        {
            errors.Add("credentials.encodingAesKey", $"credentials.encodingAesKey must be {ChannelPlatforms.WeComEncodingAesKeyLength} characters");
        }
    }

    private static Optional<ChannelPlatform> ParsePlatform(JsonElement body, FieldErrors errors, bool creating)
    {
        if (!body.TryGetProperty("platform", out var value))
        {
            if (creating)
            {
                errors.Add("platform", "platform is required");
            }

            return default;
        }

        if (!creating)
        {
            errors.Add("platform", "platform cannot be changed; create a new channel");
            return default;
        }

        if (value.ValueKind == JsonValueKind.String && ChannelPlatforms.TryParse(value.GetString(), out var platform))
        {
            return platform;
        }

        errors.Add("platform", PlatformMessage);
        return default;
    }

    private static Optional<string> ParseModel(JsonElement body, FieldErrors errors, bool creating)
    {
        if (!body.TryGetProperty("model", out var value))
        {
            if (creating)
            {
                errors.Add("model", "model is required");
            }

            return default;
        }

        if (value.ValueKind == JsonValueKind.String && value.GetString()!.Trim() is { Length: > 0 and <= MaxModelLength } model)
        {
            return model;
        }

        errors.Add("model", $"model must be a non-empty string of at most {MaxModelLength} characters");
        return default;
    }

    private static Optional<string?> ParseKeyId(JsonElement body, FieldErrors errors, bool creating)
    {
        if (!body.TryGetProperty("keyId", out var value))
        {
            return default;
        }

        if (!creating)
        {
            errors.Add("keyId", "keyId cannot be changed; create a new channel");
            return default;
        }

        if (value.ValueKind == JsonValueKind.Null)
        {
            return new Optional<string?>(true, null);
        }

        if (value.ValueKind == JsonValueKind.String && StorageIds.IsWellFormed(KeyEndpoints.IdPrefix, value.GetString()))
        {
            return value.GetString();
        }

        errors.Add("keyId", "keyId must be the id of a key (key_…)");
        return default;
    }

    private static Optional<KeyLimitsPatch> ParsePerUserLimits(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("perUserLimits", out var value))
        {
            return default;
        }

        // The same names and rules as a key's limits; the messages say which field they are about.
        var messages = new List<string>();
        var patch = KeyLimitsPatch.Parse(value, messages);
        foreach (var message in messages)
        {
            errors.Add("perUserLimits", message.StartsWith("limits", StringComparison.Ordinal) ? "perUserLimits" + message["limits".Length..] : message);
        }

        return patch is null ? default : new Optional<KeyLimitsPatch>(true, patch);
    }

    private static Optional<Uri?> ParseApiBaseUrl(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("apiBaseUrl", out var value))
        {
            return default;
        }

        if (value.ValueKind == JsonValueKind.Null)
        {
            return new Optional<Uri?>(true, null);
        }

        if (value.ValueKind == JsonValueKind.String
            && Uri.TryCreate(value.GetString(), UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0)
        {
            return uri;
        }

        errors.Add("apiBaseUrl", "apiBaseUrl must be an absolute http(s) URL without credentials, query or fragment");
        return default;
    }

    private static Optional<IReadOnlyDictionary<string, string?>> ParseCredentials(JsonElement body, FieldErrors errors, bool creating)
    {
        if (!body.TryGetProperty("credentials", out var value) || (creating && value.ValueKind == JsonValueKind.Null))
        {
            if (creating)
            {
                errors.Add("credentials", "credentials is required");
            }

            return default;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add("credentials", "credentials must be an object of strings");
            return default;
        }

        // Bad values are reported here and left out, so the names check after this still reports every other problem.
        var credentials = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            var field = "credentials." + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Null && !creating)
            {
                credentials[property.Name] = null;
            }
            else if (property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 and <= MaxCredentialLength } secret && !string.IsNullOrWhiteSpace(secret))
            {
                credentials[property.Name] = secret;
            }
            else
            {
                errors.Add(field, $"{field} must be a non-empty string of at most {MaxCredentialLength} characters");
            }
        }

        return credentials;
    }
}
