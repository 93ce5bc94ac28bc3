using System.Diagnostics.CodeAnalysis;

namespace Serverless.Webhooks.Notifications;

/// <summary>Where a notification target sends: five IM incoming webhooks or bots, or a signed JSON webhook.</summary>
internal enum NotificationType
{
    Telegram,
    Slack,
    Feishu,
    DingTalk,
    WeCom,
    Webhook,
}

/// <summary>What a target is told about.</summary>
[Flags]
internal enum NotificationEvents
{
    None = 0,

    /// <summary>An account disabled (401/403, failed token refresh) or its circuit opened.</summary>
    Account = 1,

    /// <summary>A key refused by a daily or monthly token quota or a cost budget.</summary>
    Quota = 2,

    All = Account | Quota,
}

/// <summary>
/// An operator's notification target. <see cref="Settings"/> (URLs, tokens, secrets, chat id) are decrypted in memory
/// only: webhook URLs carry their access tokens, so the store keeps every setting encrypted and views show the host only.
/// </summary>
internal sealed record NotificationTarget
{
    public required string Id { get; init; }

    public required NotificationType Type { get; init; }

    public required string Name { get; init; }

    public NotificationEvents Events { get; init; } = NotificationEvents.All;

    public bool Enabled { get; init; } = true;

    /// <summary>By setting name (<c>url</c>, <c>secret</c>, <c>botToken</c>, <c>chatId</c>, <c>apiBaseUrl</c>).</summary>
    public required IReadOnlyDictionary<string, string> Settings { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public string? Setting(string name) => Settings.TryGetValue(name, out var value) ? value : null;

    /// <summary>Where it sends: the <c>url</c>, or Telegram's API origin.</summary>
    public Uri? Endpoint => Uri.TryCreate(Setting(NotificationTypes.Url) ?? Setting(NotificationTypes.ApiBaseUrl) ?? (Type == NotificationType.Telegram ? NotificationTypes.TelegramApi : null),
        UriKind.Absolute, out var uri) ? uri : null;

    public bool WantsEvent(string eventName) => eventName switch
    {
        NotificationTypes.AccountEvent => Events.HasFlag(NotificationEvents.Account),
        NotificationTypes.QuotaEvent => Events.HasFlag(NotificationEvents.Quota),
        _ => true,
    };
}

/// <summary>One target type: its wire name and the settings it needs and takes.</summary>
internal sealed record NotificationTypeInfo(NotificationType Type, string WireName, IReadOnlyList<string> Required, IReadOnlyList<string> Optional)
{
    public bool Accepts(string setting) => Required.Contains(setting, StringComparer.Ordinal) || Optional.Contains(setting, StringComparer.Ordinal);

    public IEnumerable<string> Known => Required.Concat(Optional);
}

/// <summary>The target types and their settings, in one table; wire names and event names as the admin API writes them.</summary>
internal static class NotificationTypes
{
    public const string Url = "url";
    public const string Secret = "secret";
    public const string BotToken = "botToken";
    public const string ChatId = "chatId";
    public const string ApiBaseUrl = "apiBaseUrl";

    public const string AccountEvent = "account";
    public const string QuotaEvent = "quota";
    public const string TestEvent = "test";

    public const string TelegramApi = "https://api.telegram.org";

    /// <summary>Every setting name of any type, so a body's other fields are not mistaken for settings.</summary>
    public static readonly IReadOnlyList<string> AllSettings = [Url, Secret, BotToken, ChatId, ApiBaseUrl];

    /// <summary>Settings that are URLs (checked as such).</summary>
    public static readonly IReadOnlyList<string> UrlSettings = [Url, ApiBaseUrl];

    public static readonly IReadOnlyList<NotificationTypeInfo> All =
    [
        new(NotificationType.Telegram, "telegram", [BotToken, ChatId], [ApiBaseUrl]),
        new(NotificationType.Slack, "slack", [Url], []),
        new(NotificationType.Feishu, "feishu", [Url], [Secret]),
        new(NotificationType.DingTalk, "dingtalk", [Url], [Secret]),
        new(NotificationType.WeCom, "wecom", [Url], []),
        new(NotificationType.Webhook, "webhook", [Url, Secret], []),
    ];

    public static string WireNames => string.Join(", ", All.Select(t => t.WireName));

    public static NotificationTypeInfo Of(NotificationType type) => All.First(t => t.Type == type);

    public static string WireName(this NotificationType type) => Of(type).WireName;

    public static bool TryParse(string? wireName, [NotNullWhen(true)] out NotificationTypeInfo? info)
    {
        info = All.FirstOrDefault(t => string.Equals(t.WireName, wireName, StringComparison.Ordinal));
        return info is not null;
    }

    public static IEnumerable<string> EventNames(NotificationEvents events)
    {
        if (events.HasFlag(NotificationEvents.Account))
        {
            yield return AccountEvent;
        }

        if (events.HasFlag(NotificationEvents.Quota))
        {
            yield return QuotaEvent;
        }
    }

    public static bool TryParseEvent(string? name, out NotificationEvents events)
    {
        events = name switch
        {
            AccountEvent => NotificationEvents.Account,
            QuotaEvent => NotificationEvents.Quota,
            _ => NotificationEvents.None,
        };
        return events != NotificationEvents.None;
    }
}
