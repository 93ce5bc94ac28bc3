using System.Net;
using System.Text.Json;
using Serverless.Relay.Admin;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// The body of <c>POST /api/admin/notifications</c> (type, name and the type's settings) or <c>PATCH …/{id}</c> (any
/// subset; the type stays). Settings are top-level fields: <c>url</c>, <c>secret</c>, <c>botToken</c>, <c>chatId</c>,
/// <c>apiBaseUrl</c>, each accepted only by the types that use it.
/// </summary>
internal sealed record NotificationRequest
{
    public const int MaxSettingLength = 2048;
    public const int MinWebhookSecretLength = 16;

    public static readonly string TypeMessage = "type must be one of: " + NotificationTypes.WireNames;
    public const string EventsMessage = "events must be a non-empty array of: account, quota";
    public const string UrlMessage = "must be an absolute https URL without credentials or fragment (http only for a loopback host)";

    public Optional<NotificationTypeInfo> Type { get; init; }
    public Optional<string> Name { get; init; }
    public Optional<NotificationEvents> Events { get; init; }
    public Optional<bool> Enabled { get; init; }

    /// <summary>The settings sent, by name; a null value removes an optional one (PATCH).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Reads every field, adding one error per bad field. Which settings the type takes is checked by <see cref="CheckSettings"/>.</summary>
    public static NotificationRequest Parse(JsonElement body, FieldErrors errors, bool creating) => new()
    {
        Type = ParseType(body, errors, creating),
        Name = AdminFields.Name(body, errors, required: creating),
        Events = ParseEvents(body, errors),
        Enabled = AdminFields.Enabled(body, errors),
        Settings = ParseSettings(body, errors, creating),
    };

    /// <summary>
    /// Checks the settings sent against <paramref name="type"/>: none it does not take, none required removed, and
    /// every required one present in <paramref name="merged"/> (the target after this request).
    /// </summary>
    public static void CheckSettings(NotificationTypeInfo type, IReadOnlyDictionary<string, string?> sent, IReadOnlyDictionary<string, string> merged, FieldErrors errors)
    {
        foreach (var (name, value) in sent)
        {
            if (errors.Has(name))
            {
                continue;
            }

            if (!type.Accepts(name))
            {
                errors.Add(name, $"{name} is not a {type.WireName} setting; {type.WireName} takes: {string.Join(", ", type.Known)}");
            }
            else if (value is null && type.Required.Contains(name, StringComparer.Ordinal))
            {
                errors.Add(name, $"{name} is required for {type.WireName}");
            }
            else if (type.Type == NotificationType.Webhook && name == NotificationTypes.Secret && value is { Length: < MinWebhookSecretLength })
            {
                errors.Add(name, $"secret must be at least {MinWebhookSecretLength} characters for webhook");
            }
        }

        foreach (var name in type.Required)
        {
            if (!merged.ContainsKey(name) && !errors.Has(name))
            {
                errors.Add(name, $"{name} is required for {type.WireName}");
            }
        }
    }

    /// <summary>The target after this request: <paramref name="current"/> with the fields and settings that were sent.</summary>
    public NotificationTarget ApplyTo(NotificationTarget current) => current with
    {
        Name = Name.Or(current.Name),
        Events = Events.Or(current.Events),
        Enabled = Enabled.Or(current.Enabled),
        Settings = Merge(current.Settings),
    };

    public IReadOnlyDictionary<string, string> Merge(IReadOnlyDictionary<string, string> current)
    {
        var settings = new Dictionary<string, string>(current, StringComparer.Ordinal);
        foreach (var (name, value) in Settings)
        {
            if (value is null)
            {
                settings.Remove(name);
            }
            else
            {
                settings[name] = value;
            }
        }

        return settings;
    }

    /// <summary>https anywhere; http only to a loopback host (tests, a receiver on the same machine).</summary>
    public static bool IsAllowedUrl(string? text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && (uri.IsLoopback || IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip))))
        && uri.UserInfo.Length == 0 && uri.Fragment.Length == 0 && uri.Host.Length > 0;

    private static Optional<NotificationTypeInfo> ParseType(JsonElement body, FieldErrors errors, bool creating)
    {
        if (!body.TryGetProperty("type", out var value))
        {
            if (creating)
            {
                errors.Add("type", "type is required");
            }

            return default;
        }

        if (!creating)
        {
            errors.Add("type", "type cannot be changed; create a new target");
            return default;
        }

        if (value.ValueKind == JsonValueKind.String && NotificationTypes.TryParse(value.GetString(), out var type))
        {
            return type;
        }

        errors.Add("type", TypeMessage);
        return default;
    }

    private static Optional<NotificationEvents> ParseEvents(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("events", out var value))
        {
            return default;
        }

        var events = NotificationEvents.None;
        if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || !NotificationTypes.TryParseEvent(item.GetString(), out var one))
                {
                    events = NotificationEvents.None;
                    break;
                }

                events |= one;
            }
        }

        if (events == NotificationEvents.None)
        {
            errors.Add("events", EventsMessage);
            return default;
        }

        return events;
    }

    private static Dictionary<string, string?> ParseSettings(JsonElement body, FieldErrors errors, bool creating)
    {
        // Bad values are reported here and left out, so the type check after this still reports every other problem.
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in NotificationTypes.AllSettings)
        {
            if (!body.TryGetProperty(name, out var value) || (creating && value.ValueKind == JsonValueKind.Null))
            {
                continue;
            }

            if (value.ValueKind == JsonValueKind.Null)
            {
                settings[name] = null;
                continue;
            }

            var text = value.ValueKind == JsonValueKind.String ? value.GetString()!.Trim() : null;
            if (NotificationTypes.UrlSettings.Contains(name))
            {
                if (text is { Length: <= MaxSettingLength } && IsAllowedUrl(text))
                {
                    settings[name] = text;
                }
                else
                {
                    errors.Add(name, name + " " + UrlMessage);
                }
            }
            else if (text is { Length: > 0 and <= MaxSettingLength })
            {
                settings[name] = text;
            }
            else
            {
                errors.Add(name, $"{name} must be a non-empty string of at most {MaxSettingLength} characters");
            }
        }

        return settings;
    }
}
